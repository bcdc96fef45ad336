"""The client's verdict on a move-in: 「確認済み」 or problems reported with a comment (rule `vendor_migration`)."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from estatecrm.audit.actions import record_event
from estatecrm.core.errors import ApplicationError, NotFound
from estatecrm.tenancy.permissions import require_user
from estatecrm.vendor import error_codes
from estatecrm.vendor.choices import Verdict
from estatecrm.vendor.models import MoveIn, VerdictRecord
from estatecrm.vendor.selectors import latest_done_phase

COMMENT_MAX_LENGTH = 4000
GIVEN = (Verdict.VERIFIED, Verdict.PROBLEMS)


def do_give_verdict(acting_user, move_in: MoveIn, verdict: str, comment: str = "") -> VerdictRecord:
    """Record the verdict on the latest phase that ended; the move-in shows it; the onboarding staff get a mail
    once it is committed. Refused (VERDICT_INVALID) before any phase ended, for a verdict other than verified or
    problems, and for problems without a comment."""
    require_user(acting_user, "vendor_migration")
    if acting_user is not None and acting_user.company_id != move_in.company_id:
        raise NotFound()
    comment = (comment or "").strip()
    if verdict not in GIVEN:
        raise ApplicationError(error_codes.VERDICT_INVALID, _("Choose verified or report problems."))
    if verdict == Verdict.PROBLEMS and not comment:
        raise ApplicationError(error_codes.VERDICT_INVALID, _("Describe the problems in the comment."))
    if len(comment) > COMMENT_MAX_LENGTH:
        raise ApplicationError(error_codes.VERDICT_INVALID, _("The comment is longer than %(max_length)d characters.")
                               % {"max_length": COMMENT_MAX_LENGTH})
    with transaction.atomic():
        locked = MoveIn.objects.for_company(move_in.company_id).select_for_update(of=("self",)).select_related("active_run", "archive_run").get(pk=move_in.pk)
        phase = latest_done_phase(locked)
        if not phase:
            raise ApplicationError(error_codes.VERDICT_INVALID, _("No phase of this move-in has ended yet: verify it once a phase has ended."))
        now = timezone.now()
        before = {"verdict": locked.verdict, "verdict_comment": locked.verdict_comment}
        record = VerdictRecord.objects.create(company_id=locked.company_id, move_in=locked, phase=phase, verdict=verdict, comment=comment,
                                              given_by=acting_user, given_at=now)
        locked.verdict, locked.verdict_comment, locked.verdict_by, locked.verdict_at = verdict, comment, acting_user, now
        locked.save(update_fields=["verdict", "verdict_comment", "verdict_by", "verdict_at", "updated_at"])
        record_event(company_id=locked.company_id, actor=acting_user, verb="give_verdict", instance=locked, before=before,
                     after={"verdict": verdict, "verdict_comment": comment, "phase": phase})
        record_id = record.pk
        transaction.on_commit(lambda: _mail(record_id))
    move_in.verdict, move_in.verdict_comment, move_in.verdict_by, move_in.verdict_at = verdict, comment, acting_user, now
    return record


def _mail(record_id: int) -> None:
    from estatecrm.vendor.notifications import send_verdict_mail

    send_verdict_mail(record_id)
