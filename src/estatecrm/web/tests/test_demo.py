"""The demo company looks like a real office: statuses, dates, timeline text, visits, next actions, and a lead
import and a legacy migration in the history that ran through the pipeline."""

import datetime
import io
from collections import Counter

import pytest
from django.core.management import call_command
from django.db.models import Max
from django.utils import timezone, translation

from estatecrm.crm.choices import CONTACT_KINDS, ActivityKind, CaseOrigin, CaseStatus
from estatecrm.crm.demo import ADMIN_EMAIL, do_load_demo_company
from estatecrm.crm.models import Activity, Case
from estatecrm.inquiries.demo import do_load_demo_inquiries
from estatecrm.leads.tests.accounting import assert_each_row_written_once
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.models import Run
from estatecrm.tenancy.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    result = do_load_demo_company(customers=300)
    # The intake's part of the full demo (the command runs it too): the 反響 activities of portal mails.
    do_load_demo_inquiries(company=result.company, admin=User.objects.get(company=result.company, email=ADMIN_EMAIL))
    return result.company


def test_statuses_are_in_realistic_proportions(demo):
    counts = Counter(Case.objects.for_company(demo).values_list("status", flat=True))
    total = sum(counts.values())
    assert counts.most_common(1)[0][0] == CaseStatus.FOLLOWING
    assert counts[CaseStatus.FOLLOWING] / total > 0.4
    assert (counts[CaseStatus.APPLYING] + counts[CaseStatus.CONTRACTED]) / total < 0.2
    assert set(counts) == set(CaseStatus.values)


def test_cases_are_dated_over_months_and_updated_at_their_latest_entry(demo):
    cases = Case.objects.for_company(demo)
    created = sorted(cases.values_list("created_at", flat=True))
    assert created[-1] - created[0] > datetime.timedelta(days=150)
    latest = dict(Activity.objects.for_company(demo).filter(is_done=True).values("case_id").annotate(last=Max("occurred_at"))
                  .values_list("case_id", "last"))
    assert all(case.updated_at == latest.get(case.pk, case.created_at) for case in cases)


def test_last_contact_is_the_latest_done_contact_of_the_timeline(demo):
    contacts = dict(Activity.objects.for_company(demo).filter(is_done=True, kind__in=CONTACT_KINDS).values("case_id")
                    .annotate(last=Max("occurred_at")).values_list("case_id", "last"))
    cases = list(Case.objects.for_company(demo).values_list("pk", "last_contact_at"))
    assert [(pk, contacts.get(pk)) for pk, _last in cases] == cases
    # A portal inquiry nobody has answered yet has no contact: a few, not most.
    assert len(cases) > sum(1 for _pk, last in cases if last is not None) > len(cases) * 0.8


def test_timeline_has_real_text_and_directions(demo):
    activities = list(Activity.objects.for_company(demo).values_list("kind", "direction", "subject", "body"))
    labels = set()
    for language in ("ja", "en"):
        with translation.override(language):
            labels |= {str(label) for label in ActivityKind.labels}
    assert not [subject for _kind, _direction, subject, _body in activities if subject in labels or not subject]
    assert all(body for _kind, _direction, _subject, body in activities)
    directions = {(kind, direction) for kind, direction, _subject, _body in activities}
    assert {(ActivityKind.EMAIL_IN, "inbound"), (ActivityKind.EMAIL_OUT, "outbound"), (ActivityKind.CALL, "inbound"),
            (ActivityKind.CALL, "outbound")} <= directions
    assert not {pair for pair in directions if pair[0] in (ActivityKind.EMAIL_IN, ActivityKind.EMAIL_OUT, ActivityKind.CALL) and not pair[1]}
    assert {kind for kind, *_rest in activities} == set(ActivityKind.values)


def test_open_visits_fall_in_office_hours_on_several_days_this_week_and_next(demo):
    today = timezone.localdate()
    visits = [timezone.localtime(moment) for moment in Activity.objects.for_company(demo).filter(
        kind=ActivityKind.VISIT_APPOINTMENT, is_done=False).values_list("occurred_at", flat=True)]
    assert len({visit.date() for visit in visits}) >= 5
    assert all(today <= visit.date() <= today + datetime.timedelta(days=14) for visit in visits)
    assert all(datetime.time(10) <= visit.time() <= datetime.time(18, 45) for visit in visits)
    assert not [visit for visit in visits if visit.weekday() == 2]


def test_next_actions_are_due_today_overdue_and_later_on_open_cases_only(demo):
    today = timezone.localdate()
    rows = list(Case.objects.for_company(demo).exclude(next_action_at=None).values_list("status", "next_action_at", "next_action"))
    days = Counter("today" if timezone.localtime(at).date() == today else "overdue" if timezone.localtime(at).date() < today else "later"
                   for _status, at, _text in rows)
    assert days["today"] > 0 and days["overdue"] > 0 and days["later"] > days["today"]
    assert all(text for _status, _at, text in rows)
    assert {status for status, _at, _text in rows} <= {CaseStatus.NEW, CaseStatus.FOLLOWING, CaseStatus.APPLYING, CaseStatus.ON_HOLD}


def test_demo_command_runs_a_lead_import_and_a_legacy_migration_through_the_pipeline(settings, tmp_path):
    # given
    settings.VAR_DIR = tmp_path
    # when
    call_command("demo", "--customers", "30", stdout=io.StringIO())
    # then
    runs = list(Run.objects.unscoped().order_by("pk").values_list("kind", "status", "is_dry_run"))
    assert runs == [("lead_import", RunStatus.COMPLETED_WITH_FAILURES, False), ("legacy_migration", RunStatus.COMPLETED, False)]
    lead_run, migration_run = Run.objects.unscoped().order_by("pk")
    # each of its 10 rows accounted for once (a created lead by its case, the others by the ledger)
    assert_each_row_written_once(lead_run, 10)
    assert migration_run.counts["migrated"] == 7
    migrated = Case.objects.unscoped().filter(origin=CaseOrigin.LEGACY_MIGRATION)
    assert migrated.count() == 7
    assert set(migrated.values_list("owning_org__code", flat=True)) == {"SBY"}
    assert Activity.objects.unscoped().filter(case__in=migrated).count() > 0
