"""追客: the next action (次回対応), the last contact, the follow-up filters, the timeline and the one activity form."""

import datetime
import json

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from estatecrm.audit.models import AuditEvent
from estatecrm.core import testing
from estatecrm.core.errors import ApplicationError, Conflict
from estatecrm.core.versions import ReadVersion
from estatecrm.crm import actions
from estatecrm.crm.choices import ActivityKind, CaseStatus
from estatecrm.crm.filtersets import CaseFilters, FollowUp, filter_cases, today_bounds, view_counts
from estatecrm.crm.models import Activity, Case
from estatecrm.crm.tests.test_api import Api
from estatecrm.tenancy.selectors import actor_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english_pages(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def case(company, org, agent):
    return testing.make_case(company, org["SBY"], main_assignee=agent, status=CaseStatus.NEW)


def reload(case: Case) -> Case:
    return Case.objects.for_company(case.company_id).get(pk=case.pk)


def at(days: float = 0, **delta) -> datetime.datetime:
    return timezone.now() + datetime.timedelta(days=days, **delta)


# ---------------------------------------------------------------------------------------------
# Next action: actions


def test_next_action_is_set_changed_and_cleared_with_an_audit_event_each(case, agent):
    # given
    when = at(1).replace(microsecond=0)
    # when
    assert actions.do_update_case(case=case, changes={"next_action_at": when, "next_action": " 内見の日程を電話で確認 "}, acting_user=agent)
    assert actions.do_update_case(case=reload(case), changes={"next_action_at": None, "next_action": ""}, acting_user=agent)
    # then
    case = reload(case)
    assert (case.next_action_at, case.next_action) == (None, "")
    events = list(AuditEvent.objects.for_company(case.company_id).filter(object_type="crm.case", verb="update").order_by("pk"))
    assert [(event.before, event.after) for event in events] == [
        ({"next_action_at": None, "next_action": ""}, {"next_action_at": when.isoformat(), "next_action": "内見の日程を電話で確認"}),
        ({"next_action_at": when.isoformat(), "next_action": "内見の日程を電話で確認"}, {"next_action_at": None, "next_action": ""}),
    ]


@pytest.mark.parametrize(("changes", "field"), [
    ({"next_action_at": None, "next_action": "電話"}, "next_action_at"),
    ({"next_action": "電話"}, "next_action_at"),
    ({"next_action_at": at(1), "next_action": "あ" * 201}, "next_action"),
])
def test_a_next_action_without_a_date_or_too_long_is_refused_and_nothing_written(case, agent, changes, field):
    updated_at = case.updated_at
    with pytest.raises(ApplicationError) as refusal, transaction.atomic():
        actions.do_update_case(case=case, changes=changes, acting_user=agent)
    assert list(refusal.value.fields) == [field]
    case = reload(case)
    assert (case.next_action_at, case.next_action, case.updated_at) == (None, "", updated_at)
    assert not AuditEvent.objects.for_company(case.company_id).filter(object_type="crm.case", verb="update").exists()


def test_a_next_action_set_on_a_stale_read_is_refused(case, agent, company_admin):
    # given: the page was read, then someone else changed the case
    read = ReadVersion.of(case)
    actions.do_update_case(case=case, changes={"status": CaseStatus.FOLLOWING}, acting_user=company_admin)
    # when / then
    with pytest.raises(Conflict), transaction.atomic():
        actions.do_update_case(case=reload(case), changes={"next_action_at": at(1), "next_action": "電話"}, acting_user=agent,
                               read_version=read)
    assert reload(case).next_action_at is None


# ---------------------------------------------------------------------------------------------
# Last contact


def test_contacts_move_the_last_contact_to_the_latest_and_notes_do_not(case, agent):
    actor = actor_for(agent)
    earlier, later = at(-3).replace(microsecond=0), at(-1).replace(microsecond=0)
    actions.do_log_activity(actor=actor, case=case, kind=ActivityKind.NOTE, occurred_at=at(-0.5), body="メモ")
    assert reload(case).last_contact_at is None
    actions.do_log_activity(actor=actor, case=case, kind=ActivityKind.CALL, occurred_at=later, direction="outbound")
    actions.do_log_activity(actor=actor, case=case, kind=ActivityKind.EMAIL_IN, occurred_at=earlier)  # logged late: not the latest
    assert reload(case).last_contact_at == later


def test_completing_a_visit_is_a_contact_and_booking_one_is_not(case, agent):
    actor = actor_for(agent)
    visit = actions.do_book_visit(actor=actor, case=case, visit_at=at(-0.1).replace(microsecond=0))
    assert reload(case).last_contact_at is None
    assert actions.do_complete_visit(actor=actor, activity=visit)
    assert reload(case).last_contact_at == visit.occurred_at


def test_refresh_last_contacts_recomputes_from_done_contacts_only(case, company, org, agent):
    # given: last contacts out of step (as a bulk writer leaves them), another case without any contact
    actor = actor_for(agent)
    other = testing.make_case(company, org["SBY"], main_assignee=agent)
    call = actions.do_log_activity(actor=actor, case=case, kind=ActivityKind.CALL, occurred_at=at(-2).replace(microsecond=0))
    actions.do_book_visit(actor=actor, case=case, visit_at=at(3))  # open: not a contact
    actions.do_log_activity(actor=actor, case=other, kind=ActivityKind.NOTE, body="メモ")
    Case.objects.for_company(company).update(last_contact_at=at(-100))
    # when
    assert actions.refresh_last_contacts(company.pk, [case.pk, other.pk]) == 2
    # then
    assert (reload(case).last_contact_at, reload(other).last_contact_at) == (call.occurred_at, None)


def test_a_logged_activity_can_set_the_next_action_in_the_same_transaction(case, agent):
    # given
    when = at(2).replace(microsecond=0)
    # when
    activity = actions.do_log_activity(actor=actor_for(agent), case=case, kind=ActivityKind.CALL, direction="outbound", body="不在",
                                       next_action=(when, "夕方に再架電"), read_version=ReadVersion.of(case))
    # then
    case = reload(case)
    assert (case.next_action_at, case.next_action, case.last_contact_at) == (when, "夕方に再架電", activity.occurred_at)
    assert AuditEvent.objects.for_company(case.company_id).filter(object_type="crm.case", verb="update").count() == 1


@pytest.mark.parametrize(("kind", "direction", "occurred_at", "field"), [
    (ActivityKind.EMAIL_OUT, "inbound", None, "direction"),
    (ActivityKind.NOTE, "outbound", None, "direction"),
    (ActivityKind.CALL, "sideways", None, "direction"),
    (ActivityKind.CALL, "outbound", at(1), "occurred_at"),
])
def test_an_activity_against_its_kind_or_in_the_future_is_refused_and_nothing_written(case, agent, kind, direction, occurred_at, field):
    with pytest.raises(ApplicationError) as refusal, transaction.atomic():
        actions.do_log_activity(actor=actor_for(agent), case=case, kind=kind, direction=direction, occurred_at=occurred_at,
                                next_action=(at(1), "電話"))
    assert list(refusal.value.fields) == [field]
    assert not Activity.objects.for_company(case.company_id).exists()
    case = reload(case)
    assert (case.last_contact_at, case.next_action_at) == (None, None)


def test_a_mail_takes_its_direction_from_its_kind(case, agent):
    activity = actions.do_log_activity(actor=actor_for(agent), case=case, kind=ActivityKind.EMAIL_IN, subject="Re: 物件のご案内")
    assert activity.direction == "inbound"


# ---------------------------------------------------------------------------------------------
# Filters


def listed(actor, **filters) -> set[int]:
    return set(filter_cases(actor=actor, filters=CaseFilters(**filters)).values_list("pk", flat=True))


def test_today_is_the_local_day_of_the_company(settings, company, org, agent):
    # given: next actions on both sides of today's bounds in Asia/Tokyo (midnight there is 15:00 UTC)
    assert settings.TIME_ZONE == "Asia/Tokyo"
    start, end = today_bounds()
    assert start.utcoffset() == datetime.timedelta(hours=9) and start.astimezone(datetime.UTC).hour == 15
    micro = datetime.timedelta(microseconds=1)
    cases = {}
    for name, when in (("yesterday_last", start - micro), ("today_first", start), ("today_last", end - micro), ("tomorrow_first", end)):
        cases[name] = testing.make_case(company, org["SBY"], main_assignee=agent)
        Case.objects.for_company(company).filter(pk=cases[name].pk).update(next_action_at=when, next_action=name)
    # when / then
    actor = actor_for(agent)
    assert listed(actor, follow_up=FollowUp.TODAY) == {cases["today_first"].pk, cases["today_last"].pk}
    assert listed(actor, follow_up=FollowUp.TODAY, sort="next_action") == {cases["today_first"].pk, cases["today_last"].pk}


def test_overdue_is_before_now_and_new_uncontacted_is_new_and_never_contacted(company, org, agent):
    # given
    make = lambda **fields: testing.make_case(company, org["SBY"], main_assignee=agent, **fields)  # noqa: E731
    overdue, due, never, contacted, following = make(), make(), make(status=CaseStatus.NEW), make(status=CaseStatus.NEW), make()
    Case.objects.for_company(company).filter(pk=overdue.pk).update(next_action_at=at(minutes=-1))
    Case.objects.for_company(company).filter(pk=due.pk).update(next_action_at=at(minutes=1))
    actions.do_log_activity(actor=actor_for(agent), case=contacted, kind=ActivityKind.LINE, direction="inbound")
    # when / then
    actor = actor_for(agent)
    assert listed(actor, follow_up=FollowUp.OVERDUE) == {overdue.pk}
    assert listed(actor, follow_up=FollowUp.NEW_UNCONTACTED) == {never.pk}
    assert following.pk not in listed(actor, follow_up=FollowUp.NEW_UNCONTACTED)
    counts = view_counts(actor)
    assert (counts["overdue"], counts["new_uncontacted"]) == (1, 1)


def test_follow_up_lists_keep_the_access_rules_and_hide_trashed_cases(company, org, agent, company_admin):
    # given: a case the agent cannot see (SJK shows cases to their assignees) and a trashed one, both overdue
    hidden = testing.make_case(company, org["SJK"], main_assignee=company_admin)
    trashed = testing.make_case(company, org["SBY"], main_assignee=agent)
    Case.objects.for_company(company).filter(pk__in=[hidden.pk, trashed.pk]).update(next_action_at=at(-1))
    Case.objects.for_company(company).filter(pk=trashed.pk).update(deleted_at=timezone.now())
    # when / then
    assert listed(actor_for(agent), follow_up=FollowUp.OVERDUE) == set()
    assert view_counts(actor_for(agent))["overdue"] == 0
    assert listed(actor_for(company_admin), follow_up=FollowUp.OVERDUE) == {hidden.pk}


def test_next_action_sort_pages_the_cases_with_one_soonest_first(company, org, agent):
    from estatecrm.crm.filtersets import paginate_cases

    # given: five cases with next actions (two at the same time: pk breaks the tie) and one without
    times = [at(3), at(1), at(2), at(1), at(-1)]
    cases = []
    for when in times:
        cases.append(testing.make_case(company, org["SBY"], main_assignee=agent))
        Case.objects.for_company(company).filter(pk=cases[-1].pk).update(next_action_at=when)
    testing.make_case(company, org["SBY"], main_assignee=agent)
    actor = actor_for(agent)
    # when
    seen, cursor = [], ""
    while True:
        page = paginate_cases(filter_cases(actor=actor, filters=CaseFilters(sort="next_action")), sort="next_action", cursor=cursor, size=2)
        seen += [case.pk for case in page.items]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    # then
    expected = sorted(zip(times, [case.pk for case in cases], strict=True))
    assert seen == [pk for _when, pk in expected]


def test_an_unknown_follow_up_filter_is_reported_not_ignored():
    filters = CaseFilters.from_query({"follow_up": "someday"})
    assert (filters.follow_up, list(filters.errors)) == ("", ["follow_up"])


# ---------------------------------------------------------------------------------------------
# Pages


def test_case_list_shows_phone_last_contact_and_next_action_under_its_follow_up_filter(client, company, org, agent):
    # given
    case = testing.make_case(company, org["SBY"], main_assignee=agent, phones=(("phone", "０３（１２３４）５６７８"), ("mobile", "090-1111-2222")))
    contact = actions.do_log_activity(actor=actor_for(agent), case=case, kind=ActivityKind.CALL, occurred_at=at(-2), direction="outbound")
    Case.objects.for_company(company).filter(pk=case.pk).update(next_action_at=at(minutes=-5), next_action="申込書類の提出を確認")
    client.force_login(agent)
    # when
    response = client.get(reverse("crm:list"), {"follow_up": "overdue", "sort": "next_action"})
    # then
    assert [item.pk for item in response.context["page"].items] == [case.pk]
    html = response.content.decode()
    row = html[html.index(f'data-case-id="{case.pk}"'):]
    assert '<a href="tel:03-1234-5678">03-1234-5678</a>' in row
    assert timezone.localtime(contact.occurred_at).strftime("%Y-%m-%d") in row
    assert 'class="next-action overdue"' in row and "申込書類の提出を確認" in row
    assert json.loads(client.get(reverse("crm:counts")).content)["overdue"] == 1


def test_next_action_form_sets_and_clears_with_the_optimistic_lock(client, case, agent, company_admin):
    client.force_login(agent)
    detail = reverse("crm:detail", kwargs={"case_id": case.pk})
    url = reverse("crm:next-action", kwargs={"case_id": case.pk})
    version = client.get(detail).context["next_action_form"].initial["version"]
    # when
    response = client.post(url, {"version": version, "next_action_at": "2030-01-15T10:30", "next_action": "内見の日程を電話で確認"})
    # then
    assert response.status_code == 302
    case = reload(case)
    assert (timezone.localtime(case.next_action_at).strftime("%Y-%m-%d %H:%M"), case.next_action) == ("2030-01-15 10:30", "内見の日程を電話で確認")
    # when: the same (now stale) page saves again after someone else's change
    actions.do_update_case(case=case, changes={"status": CaseStatus.FOLLOWING}, acting_user=company_admin)
    stale = client.post(url, {"version": version, "clear": "1"})
    assert stale.status_code == 409 and reload(case).next_action_at is not None
    # when: cleared from a fresh read
    version = client.get(detail).context["next_action_form"].initial["version"]
    assert client.post(url, {"version": version, "clear": "1"}).status_code == 302
    assert (reload(case).next_action_at, reload(case).next_action) == (None, "")


def test_next_action_text_without_a_date_is_shown_next_to_the_field(client, case, agent):
    client.force_login(agent)
    version = client.get(reverse("crm:detail", kwargs={"case_id": case.pk})).context["next_action_form"].initial["version"]
    response = client.post(reverse("crm:next-action", kwargs={"case_id": case.pk}), {"version": version, "next_action": "電話"})
    assert response.status_code == 400
    assert response.context["next_action_form"].errors == {"next_action_at": ["Give the date and time of the next action."]}


def test_one_form_logs_a_call_and_sets_the_next_action(client, case, agent):
    client.force_login(agent)
    detail = client.get(reverse("crm:detail", kwargs={"case_id": case.pk}))
    form = detail.context["activity_form"]
    # when
    response = client.post(reverse("crm:activity-add", kwargs={"case_id": case.pk}), {
        "version": form.initial["version"], "kind": "call", "direction": "outbound", "occurred_at": "",
        "body": "不在。夕方にかけ直す。", "next_action_at": "2030-01-15T18:00", "next_action": "再架電"})
    # then
    assert response.status_code == 302
    activity = Activity.objects.for_company(case.company_id).get(case=case)
    case = reload(case)
    assert (activity.kind, activity.direction, activity.body, activity.actor_id) == ("call", "outbound", "不在。夕方にかけ直す。", agent.pk)
    assert case.last_contact_at == activity.occurred_at and case.next_action == "再架電"


def test_logging_without_a_next_action_needs_no_fresh_version(client, case, agent):
    client.force_login(agent)
    response = client.post(reverse("crm:activity-add", kwargs={"case_id": case.pk}), {"kind": "note", "body": "平日18時以降希望"})
    assert response.status_code == 302
    assert Activity.objects.for_company(case.company_id).filter(case=case).count() == 1


def test_timeline_shows_text_direction_who_and_when_never_the_kind_as_text(client, case, agent):
    # given: a call with a body, and an old entry whose subject is only its kind's label (the old demo's shape)
    actor = actor_for(agent)
    call = actions.do_log_activity(actor=actor, case=case, kind=ActivityKind.CALL, direction="inbound", subject="内見希望", body="土曜午前")
    actions.do_log_activity(actor=actor, case=case, kind=ActivityKind.LINE, subject=str(ActivityKind.LINE.label), direction="outbound")
    client.force_login(agent)
    # when
    html = client.get(reverse("crm:detail", kwargs={"case_id": case.pk})).content.decode()
    # then
    entry = html[html.index(f'data-activity-id="{call.pk}"'):]
    entry = entry[:entry.index("</li>")]
    assert timezone.localtime(call.occurred_at).strftime("%Y-%m-%d %H:%M") in entry
    assert agent.name in entry and "Inbound" in entry and "内見希望" in entry and "土曜午前" in entry
    line_entry = html[html.index('class="activity kind-line'):]
    line_entry = line_entry[:line_entry.index("</li>")]
    assert line_entry.count(str(ActivityKind.LINE.label)) == 1  # the kind, not repeated as the text


# ---------------------------------------------------------------------------------------------
# API


def test_api_reads_and_updates_the_next_action_and_reads_the_last_contact(client, case, agent):
    api = Api(client, agent)
    read = api.get(f"/cases/{case.pk}").json()
    assert (read["next_action_at"], read["next_action"], read["last_contact_at"]) == (None, "", None)
    # when
    response = api.patch(f"/cases/{case.pk}", {"updated_at": read["updated_at"], "next_action_at": "2030-01-15T01:30:00Z",
                                               "next_action": "内見の日程を確認"})
    # then
    assert response.status_code == 200, response.content
    assert (response.json()["next_action_at"], response.json()["next_action"]) == ("2030-01-15T01:30:00Z", "内見の日程を確認")
    refused = api.patch(f"/cases/{case.pk}", {"updated_at": response.json()["updated_at"], "next_action_at": None})
    assert refused.status_code == 400 and refused.json()["error"]["fields"] == {"next_action_at": ["Give the date and time of the next action."]}


def test_api_logs_an_activity_with_direction_and_next_action_and_filters_the_list(client, case, agent):
    api = Api(client, agent)
    etag = api.get(f"/cases/{case.pk}")["ETag"]
    # when
    response = api.post(f"/cases/{case.pk}/activities", {"kind": "call", "direction": "outbound", "body": "不在",
                                                          "next_action_at": "2000-01-01T00:00:00Z", "next_action": "再架電"},
                        HTTP_IF_MATCH=etag)
    # then
    assert response.status_code == 201, response.content
    assert response.json()["direction"] == "outbound"
    case_read = api.get(f"/cases/{case.pk}").json()
    assert case_read["last_contact_at"] == response.json()["occurred_at"] and case_read["next_action"] == "再架電"
    assert [item["id"] for item in api.get("/cases", {"follow_up": "overdue"}).json()["items"]] == [case.pk]
    assert api.get("/cases", {"follow_up": "new_uncontacted"}).json()["items"] == []
    assert api.get("/cases", {"follow_up": "soon"}).status_code == 422


def test_api_refuses_a_next_action_on_a_stale_read(client, case, agent, company_admin):
    api = Api(client, agent)
    etag = api.get(f"/cases/{case.pk}")["ETag"]
    actions.do_update_case(case=case, changes={"status": CaseStatus.FOLLOWING}, acting_user=company_admin)
    response = api.post(f"/cases/{case.pk}/activities", {"kind": "call", "next_action_at": "2030-01-01T00:00:00Z"}, HTTP_IF_MATCH=etag)
    assert response.status_code == 409
    assert not Activity.objects.for_company(case.company_id).exists()


def test_export_takes_the_follow_up_filter(client, company, org, agent):
    # given
    overdue = testing.make_case(company, org["SBY"], main_assignee=agent, customer_name="鈴木 一郎")
    testing.make_case(company, org["SBY"], main_assignee=agent, customer_name="佐藤 花子")
    Case.objects.for_company(company).filter(pk=overdue.pk).update(next_action_at=at(-1))
    client.force_login(agent)
    # when
    response = client.get(reverse("crm:export"), {"follow_up": "overdue", "format": "csv"})
    # then
    lines = b"".join(response.streaming_content).decode("utf-8").strip().split("\r\n")
    assert len(lines) == 2 and "鈴木 一郎" in lines[1]
