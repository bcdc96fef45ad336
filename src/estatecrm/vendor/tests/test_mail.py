"""The mail at the end of each phase: the onboarding staff, the counts, the money, the report's link."""

import pytest
from django.core import mail
from django.test import override_settings

from estatecrm.vendor.notifications import send_phase_finished_mail
from estatecrm.vendor.tests.verify_factories import make_loaded_move_in

pytestmark = pytest.mark.django_db


@override_settings(VENDOR_ONBOARDING_EMAILS=["onboarding@estatecrm.example"], SITE_URL="https://crm.example.jp", LANGUAGE_CODE="en")
def test_phase_finished_mail(company, company_admin, tmp_path):
    move_in = make_loaded_move_in(company, company_admin, tmp_path)
    send_phase_finished_mail(move_in.active_run.pk)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["admin@acme.example.jp", "onboarding@estatecrm.example"]
    assert message.subject == "Move-in from EstiCRM: Active data ended (Completed)"
    assert "Listings: 2 in the package, 1 loaded, 0 skipped, 1 failed" in message.body
    assert "Failed: A value could not be read (invalid_value) 1" in message.body
    assert "Rent or price: 58098000 in the package, 98000 loaded (difference -58000000) JPY" in message.body
    assert f"https://crm.example.jp/settings/move-ins/{move_in.pk}/active/report/" in message.body


@override_settings(VENDOR_ONBOARDING_EMAILS=[])
def test_no_recipient_no_mail(company, company_admin, tmp_path):
    move_in = make_loaded_move_in(company, company_admin, tmp_path)
    company_admin.is_active = False
    company_admin.save(update_fields=["is_active"])
    send_phase_finished_mail(move_in.active_run.pk)
    assert not mail.outbox
    # an unknown run: nothing
    send_phase_finished_mail(move_in.active_run.pk + 1000)
    assert not mail.outbox
