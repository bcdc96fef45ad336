"""The client's verdict: 「確認済み」 or problems with a comment, after a phase ended; audited; mailed."""

import pytest
from django.core import mail
from django.test import override_settings

from estatecrm.audit.models import AuditEvent
from estatecrm.core.errors import ApplicationError, NotFound, PermissionDenied
from estatecrm.pipeline.choices import RunStatus
from estatecrm.vendor import error_codes
from estatecrm.vendor.models import MoveIn, VerdictRecord
from estatecrm.vendor.tests.verify_factories import make_loaded_move_in, make_move_in
from estatecrm.vendor.verdicts import do_give_verdict

pytestmark = pytest.mark.django_db


@pytest.fixture
def move_in(company, company_admin, tmp_path):
    return make_loaded_move_in(company, company_admin, tmp_path)


@override_settings(VENDOR_ONBOARDING_EMAILS=["onboarding@estatecrm.example", "ADMIN@acme.example.jp"])
def test_verified_is_recorded_audited_and_mailed(move_in, company_admin, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        record = do_give_verdict(company_admin, move_in, "verified", "  件数・金額とも確認しました。 ")
    # then: the record, the move-in's verdict
    assert (record.phase, record.verdict, record.comment, record.given_by) == ("active", "verified", "件数・金額とも確認しました。", company_admin)
    stored = MoveIn.objects.for_company(move_in.company_id).get(pk=move_in.pk)
    assert (stored.verdict, stored.verdict_by, stored.verdict_at) == ("verified", company_admin, record.given_at)
    event = AuditEvent.objects.for_company(move_in.company_id).get(verb="give_verdict")
    assert event.after == {"verdict": "verified", "verdict_comment": "件数・金額とも確認しました。", "phase": "active"}
    # and: one mail to who started it and the onboarding staff (each address once)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["admin@acme.example.jp", "onboarding@estatecrm.example"]
    assert "EstiCRM" in message.subject and "確認済み" in message.subject
    assert "件数・金額とも確認しました。" in message.body and f"/settings/move-ins/{move_in.pk}/" in message.body


def test_problems_need_a_comment(move_in, company_admin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ApplicationError) as refused:
        do_give_verdict(company_admin, move_in, "problems", "   ")
    assert refused.value.code == error_codes.VERDICT_INVALID
    assert not VerdictRecord.objects.for_company(move_in.company_id).exists() and not mail.outbox
    # with a comment, the latest verdict wins and the history keeps both
    do_give_verdict(company_admin, move_in, "verified")
    do_give_verdict(company_admin, move_in, "problems", "成約済みの物件が掲載中になっています。")
    assert MoveIn.objects.for_company(move_in.company_id).get(pk=move_in.pk).verdict == "problems"
    assert [record.verdict for record in VerdictRecord.objects.for_company(move_in.company_id)] == ["problems", "verified"]


def test_no_verdict_before_a_phase_ended(company, company_admin, tmp_path):
    running = make_loaded_move_in(company, company_admin, tmp_path, status=RunStatus.RUNNING)
    not_started = make_move_in(company, company_admin)
    for move_in in (running, not_started):
        with pytest.raises(ApplicationError) as refused:
            do_give_verdict(company_admin, move_in, "verified")
        assert refused.value.code == error_codes.VERDICT_INVALID


def test_the_archive_phase_is_the_latest(move_in, company, company_admin):
    from estatecrm.vendor.tests.verify_factories import make_run

    move_in.archive_run = make_run(company, company_admin, move_in=move_in, phase="archive")
    move_in.save(update_fields=["archive_run"])
    assert do_give_verdict(company_admin, move_in, "verified").phase == "archive"


def test_only_company_admins_of_the_company(move_in, agent, other_company):
    with pytest.raises(PermissionDenied):
        do_give_verdict(agent, move_in, "verified")
    with pytest.raises(NotFound):
        do_give_verdict(other_company["admin"], move_in, "verified")
    with pytest.raises(ApplicationError):
        do_give_verdict(None, move_in, "unknown")
