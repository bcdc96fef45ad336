"""Background tasks of the inquiry intake."""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django_tasks import task

from estatecrm.core.scope import company_scope
from estatecrm.crm.models import Case
from estatecrm.inquiries.models import Inquiry


@task()
def mail_new_inquiry(company_id: int, case_id: int) -> None:
    """Mail the case's main assignee that a new inquiry arrived (反響の通知メール), if they still want it."""
    with company_scope(company_id):
        case = Case.objects.for_company(company_id).select_related("customer", "main_assignee").filter(pk=case_id).first()
        if case is None or case.main_assignee is None:
            return
        user = case.main_assignee
        if not (user.is_active and user.inquiry_mail and user.email):
            return
        # The inquiry that made the case (none for a LINE follow): when it arrived and its kind.
        inquiry = Inquiry.objects.for_company(company_id).filter(case_id=case.pk).order_by("pk").first()
        with translation.override(settings.LANGUAGE_CODE):
            context = {"case": case, "user": user, "inquiry": inquiry, "inquiry_type": (inquiry.fields or {}).get("inquiry_type", "") if inquiry else "",
                       "link": settings.SITE_URL + reverse("crm:detail", args=[case.pk]),
                       "settings_link": settings.SITE_URL + reverse("account:home") + "#notifications"}
            subject = "".join(render_to_string("inquiries/email/new_inquiry_subject.txt", context).splitlines())
            body = render_to_string("inquiries/email/new_inquiry_body.txt", context)
        send_mail(subject, body, None, [user.email])


REPLY_EXCERPT_CHARACTERS = 200


@task()
def mail_customer_reply(company_id: int, case_id: int, activity_id: int) -> None:
    """Mail the case's main assignee that the customer replied (お客様から返信がありました), with the start of
    the message and a link, if they are active and still want such mail (User.reply_mail)."""
    from estatecrm.crm.models import Activity

    with company_scope(company_id):
        case = Case.objects.for_company(company_id).select_related("customer", "main_assignee").filter(pk=case_id).first()
        activity = Activity.objects.for_company(company_id).filter(pk=activity_id, case_id=case_id).first()
        if case is None or activity is None or case.main_assignee is None:
            return
        user = case.main_assignee
        if not (user.is_active and user.reply_mail and user.email):
            return
        text = " ".join((activity.body or "").split())
        excerpt = text if len(text) <= REPLY_EXCERPT_CHARACTERS else text[:REPLY_EXCERPT_CHARACTERS] + "…"
        with translation.override(settings.LANGUAGE_CODE):
            context = {"case": case, "user": user, "activity": activity, "excerpt": excerpt,
                       "link": settings.SITE_URL + reverse("crm:detail", args=[case.pk]),
                       "settings_link": settings.SITE_URL + reverse("account:home") + "#notifications"}
            subject = "".join(render_to_string("inquiries/email/customer_reply_subject.txt", context).splitlines())
            body = render_to_string("inquiries/email/customer_reply_body.txt", context)
        send_mail(subject, body, None, [user.email])


@task()
def process_line_events(company_id: int) -> int:
    """Apply the company's pending LINE webhook events in the order received (inquiries/line.py).
    Idempotent: each event is applied once, whoever runs this task and however often."""
    from estatecrm.inquiries.line import process_pending

    with company_scope(company_id):
        return process_pending(company_id)
