"""Background tasks of crm: the mails that go out after a change commits."""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django_tasks import task

from estatecrm.core.scope import company_scope

# A mail names at most this many cases; the rest are counted, and the 担当変更履歴 page lists them all.
MAIL_CASES = 50


@task()
def mail_reassignment(company_id: int, reassignment_id: int, undo: bool = False) -> int:
    """担当者変更のお知らせ: mail the new main assignee of a 担当変更 the cases they now have (after an undo:
    each previous main assignee the cases they have back). Skips a user who is deactivated, has no
    address, turned these mails off, or made the change themselves. Returns the number of mails sent."""
    from estatecrm.crm.choices import ReassignmentOutcome
    from estatecrm.crm.models import Reassignment, ReassignmentCase
    from estatecrm.tenancy.models import User

    with company_scope(company_id):
        record = Reassignment.objects.for_company(company_id).select_related("actor", "agent").filter(pk=reassignment_id).first()
        if record is None:
            return 0
        items = (ReassignmentCase.objects.for_company(company_id).filter(reassignment=record, outcome=ReassignmentOutcome.REASSIGNED)
                 .select_related("case__customer").order_by("case__number"))
        recipient_field = "from_user_id" if undo else "to_user_id"
        by_user: dict[int, list] = {}
        for item in items:
            user_id = getattr(item, recipient_field)
            if user_id is not None:
                by_user.setdefault(user_id, []).append(item.case)
        acting_id = record.undone_by_id if undo else record.actor_id
        sent = 0
        for user in User.objects.filter(pk__in=by_user, company_id=company_id).order_by("pk"):
            if user.pk == acting_id or not (user.is_active and user.assignment_mail and user.email):
                continue
            cases = by_user[user.pk]
            with translation.override(settings.LANGUAGE_CODE):
                context = {
                    "user": user, "record": record, "undo": undo, "count": len(cases), "cases": cases[:MAIL_CASES],
                    "more": max(0, len(cases) - MAIL_CASES), "site_url": settings.SITE_URL,
                    "history_link": settings.SITE_URL + reverse("staff:history_detail", args=[record.pk]),
                    "settings_link": settings.SITE_URL + reverse("account:home") + "#notifications",
                }
                subject = "".join(render_to_string("crm/email/reassignment_subject.txt", context).splitlines())
                body = render_to_string("crm/email/reassignment_body.txt", context)
            send_mail(subject, body, None, [user.email])
            sent += 1
        return sent
