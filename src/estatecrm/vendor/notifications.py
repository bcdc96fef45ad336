"""E-mails to the onboarding staff of a move-in: at the end of each phase, and on the client's verdict.

Recipients: the move-in's `created_by` (when active, with an address) and the addresses of the setting
VENDOR_ONBOARDING_EMAILS (env VENDOR_ONBOARDING_EMAILS, comma-separated), each once. Users have no language
of their own: the mails are in the site's language (LANGUAGE_CODE), like the other notifications.

    send_phase_finished_mail(run_id)   # after a phase run ended (any status); called on commit by the job
    send_verdict_mail(verdict_record_id)
"""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from estatecrm.pipeline.models import Run
from estatecrm.vendor.choices import RUN_KIND, Phase, Verdict
from estatecrm.vendor.models import MoveIn, VerdictRecord


def recipients(move_in: MoveIn) -> list[str]:
    addresses = []
    user = move_in.created_by
    if user is not None and user.is_active and user.email:
        addresses.append(user.email)
    for address in getattr(settings, "VENDOR_ONBOARDING_EMAILS", []) or []:
        if address and address.lower() not in {known.lower() for known in addresses}:
            addresses.append(address)
    return addresses


def _send(template: str, context: dict, to: list[str]) -> None:
    with translation.override(settings.LANGUAGE_CODE):
        subject = "".join(render_to_string(f"vendor/email/{template}_subject.txt", context).splitlines())
        body = render_to_string(f"vendor/email/{template}_body.txt", context)
    send_mail(subject, body, None, to)


def report_link(move_in: MoveIn, phase: str) -> str:
    """The phase's verification report (the move-in's page for a run that names no phase)."""
    if phase not in Phase.values:
        return settings.SITE_URL + reverse("vendor:move-in", kwargs={"move_in_id": move_in.pk})
    return settings.SITE_URL + reverse("vendor:report", kwargs={"move_in_id": move_in.pk, "phase": phase})


def send_phase_finished_mail(run_id: int) -> None:
    """The phase, its status, the counts per entity, the money totals and the link to its verification report."""
    from estatecrm.vendor.reports import move_in_of, verification

    run = Run.objects.unscoped().filter(pk=run_id, kind=RUN_KIND).first()
    move_in = move_in_of(run) if run is not None else None
    if move_in is None:
        return
    to = recipients(move_in)
    if not to:
        return
    phase = (run.params or {}).get("phase", "")
    with translation.override(settings.LANGUAGE_CODE):
        report = verification(run, with_sample=False)
        context = {"move_in": move_in, "run": run, "report": report, "phase_label": Phase(phase).label if phase in Phase.values else phase,
                   "status_label": run.get_status_display(), "link": report_link(move_in, phase),
                   "move_in_link": settings.SITE_URL + reverse("vendor:move-in", kwargs={"move_in_id": move_in.pk}),
                   "company": move_in.company}
        _send("phase_finished", context, to)


def send_verdict_mail(verdict_record_id: int) -> None:
    """The verdict, its comment, who gave it and the link to the move-in."""
    record = VerdictRecord.objects.unscoped().select_related("move_in", "move_in__created_by", "given_by", "move_in__company").filter(
        pk=verdict_record_id).first()
    if record is None:
        return
    to = recipients(record.move_in)
    if not to:
        return
    with translation.override(settings.LANGUAGE_CODE):
        context = {"record": record, "move_in": record.move_in, "company": record.move_in.company,
                   "verdict_label": Verdict(record.verdict).label, "phase_label": Phase(record.phase).label,
                   "is_problems": record.verdict == Verdict.PROBLEMS,
                   "link": settings.SITE_URL + reverse("vendor:move-in", kwargs={"move_in_id": record.move_in_id}),
                   "report_link": report_link(record.move_in, record.phase)}
        _send("verdict", context, to)
