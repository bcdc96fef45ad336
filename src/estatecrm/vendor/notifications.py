"""FOUNDATION PLACEHOLDER (helper "verify" writes it): e-mails to the onboarding staff.

    send_phase_finished_mail(run_id)   # after a phase run ended (any status); called on commit by the job
    send_verdict_mail(verdict_record_id)

In this branch (helper "loader") they do nothing: the merger takes helper "verify"'s.
"""


def send_phase_finished_mail(run_id: int) -> None:
    return None


def send_verdict_mail(verdict_record_id: int) -> None:
    return None
