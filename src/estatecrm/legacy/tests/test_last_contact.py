"""A migrated case's last contact and direction come with its rows; a revert leaves them consistent."""

import pytest
from django.db.models import Max

from estatecrm.crm.actions import refresh_last_contacts
from estatecrm.crm.choices import CONTACT_KINDS
from estatecrm.crm.models import Activity, Case
from estatecrm.legacy import actions
from estatecrm.pipeline import engine
from estatecrm.pipeline.choices import RunStatus

pytestmark = pytest.mark.django_db


def last_contacts(company) -> dict[int, object]:
    return dict(Case.objects.for_company(company).values_list("pk", "last_contact_at"))


def recomputed(company) -> dict[int, object]:
    latest = dict(Activity.objects.for_company(company).filter(is_done=True, kind__in=CONTACT_KINDS).values_list("case_id")
                  .annotate(latest=Max("occurred_at")).order_by())
    return {pk: latest.get(pk) for pk in Case.objects.for_company(company).values_list("pk", flat=True)}


def test_migrated_cases_carry_their_last_contact_and_mails_their_direction(sample_company, sample_actor, units, bundle_path, monkeypatch):
    # given: batches of 7 cases, so the last contact is written by several batches
    monkeypatch.setattr("estatecrm.legacy.jobs.BATCH_CASES", 7)
    run = actions.do_start_legacy_migration(actor=sample_actor, path=bundle_path, file_name="b.zip", org_unit=units["HQ"], background=False)
    # when
    assert engine.execute_run(run.pk) == RunStatus.COMPLETED
    # then: every case's last contact is its latest done contact activity, and some cases have one
    migrated = last_contacts(sample_company)
    assert migrated == recomputed(sample_company)
    assert any(migrated.values()) and not all(migrated.values())
    directions = set(Activity.objects.for_company(sample_company).values_list("kind", "direction"))
    assert {direction for kind, direction in directions if kind == "email_out"} <= {"outbound"}
    assert {direction for kind, direction in directions if kind == "email_in"} <= {"inbound"}
    assert {direction for kind, direction in directions if kind not in ("email_out", "email_in")} == {""}
    # when: the run is reverted (its cases go to the trash with their activities)
    revert = actions.do_start_legacy_migration_revert(actor=sample_actor, run=run, background=False)
    assert engine.execute_run(revert.pk) == RunStatus.COMPLETED
    # then: nothing to recompute: the trashed cases keep last contacts that match their activities
    assert last_contacts(sample_company) == migrated
    refresh_last_contacts(sample_company.pk)
    assert last_contacts(sample_company) == migrated
