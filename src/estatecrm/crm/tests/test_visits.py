"""Visits (来店予定): week bounds in Asia/Tokyo, who sees which visit, the actions (move, complete, cancel)
and the calendar pages."""

import datetime
import zoneinfo

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from estatecrm.audit.models import AuditEvent
from estatecrm.core import testing
from estatecrm.core.errors import ApplicationError, Conflict, NotFound
from estatecrm.core.versions import ReadVersion
from estatecrm.crm import actions, selectors
from estatecrm.crm.choices import ActivityKind
from estatecrm.crm.models import Activity, Case
from estatecrm.tenancy.selectors import actor_for

pytestmark = pytest.mark.django_db

TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")


@pytest.fixture(autouse=True)
def english_pages(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def tokyo(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=TOKYO)


def book(user, case, when, **kwargs) -> Activity:
    return actions.do_book_visit(actor=actor_for(user), case=case, visit_at=when, **kwargs)


def next_week_at(hour: int, weekday: int = 2) -> datetime.datetime:
    """A time in next week (Tokyo), so the form's "not in the past" check never interferes."""
    monday, _start, _end = selectors.week_of(timezone.localdate() + datetime.timedelta(days=7))
    return tokyo(*(monday + datetime.timedelta(days=weekday)).timetuple()[:3], hour, 0)


# ---------------------------------------------------------------------------------------------
# Week bounds and visibility


def test_week_runs_from_monday_to_sunday_midnight_in_tokyo(company, org, company_admin):
    # given: visits at the edges of the week of Monday 2026-03-02 (Tokyo), where UTC is still on Sunday
    case = testing.make_case(company, org["SBY"], main_assignee=company_admin)
    before = book(company_admin, case, tokyo(2026, 3, 1, 23, 59))
    first = book(company_admin, case, tokyo(2026, 3, 2, 0, 0))
    last = book(company_admin, case, tokyo(2026, 3, 8, 23, 59))
    after = book(company_admin, case, tokyo(2026, 3, 9, 0, 0))
    # when: the week of a Sunday
    monday, start, end = selectors.week_of(datetime.date(2026, 3, 8))
    visits = selectors.visits_between(actor=actor_for(company_admin), start=start, end=end)
    # then
    assert monday == datetime.date(2026, 3, 2)
    assert start == datetime.datetime(2026, 3, 1, 15, 0, tzinfo=datetime.UTC)
    assert [visit.pk for visit in visits] == [first.pk, last.pk]
    assert {before.pk, after.pk}.isdisjoint(visit.pk for visit in visits)


def test_agent_of_an_assignees_unit_does_not_see_a_colleagues_visits(company, org, company_admin):
    # given: two agents of 新宿店 (assignees visibility), each with a case of their own and a visit
    mine_agent = testing.make_user(company, org["SJK"], name="新宿 一郎")
    other_agent = testing.make_user(company, org["SJK"], name="新宿 二郎")
    mine = testing.make_case(company, org["SJK"], main_assignee=mine_agent)
    theirs = testing.make_case(company, org["SJK"], main_assignee=other_agent, customer_name="鈴木 一郎")
    my_visit = book(mine_agent, mine, tokyo(2026, 3, 3, 10, 0))
    their_visit = book(company_admin, theirs, tokyo(2026, 3, 3, 11, 0))
    _monday, start, end = selectors.week_of(datetime.date(2026, 3, 3))
    actor = actor_for(mine_agent)
    # when
    visits = selectors.visits_between(actor=actor, start=start, end=end, unit_id=org["SJK"].pk)
    # then: their visit shows nowhere, and cannot be opened
    assert [visit.pk for visit in visits] == [my_visit.pk]
    with pytest.raises(NotFound):
        selectors.access_visit(actor, their_visit.pk)
    assert selectors.calendar_unit_ids(actor) == {org["SJK"].pk}


def test_another_companys_visit_is_not_found(company, org, company_admin, other_company):
    # given
    other_visit = book(other_company["admin"], other_company["case"], tokyo(2026, 3, 3, 10, 0))
    actor = actor_for(company_admin)
    _monday, start, end = selectors.week_of(datetime.date(2026, 3, 3))
    # then
    assert selectors.visits_between(actor=actor, start=start, end=end) == []
    with pytest.raises(NotFound):
        selectors.access_visit(actor, other_visit.pk)


def test_an_org_admin_opens_the_calendars_of_the_units_they_administer_only(company, org):
    # given
    from estatecrm.tenancy.choices import Role

    sby_admin = testing.make_user(company, org["SBY"], role=Role.ADMIN)
    # then
    assert selectors.calendar_unit_ids(actor_for(sby_admin)) == {org["SBY"].pk}


# ---------------------------------------------------------------------------------------------
# Actions


def test_moving_a_visit_at_an_old_version_is_refused_and_changes_nothing(company, org, company_admin):
    # given: a visit read by the page, then moved by someone else
    case = testing.make_case(company, org["SBY"], main_assignee=company_admin)
    visit = book(company_admin, case, tokyo(2026, 3, 3, 10, 0))
    read = ReadVersion.of(visit)
    actor = actor_for(company_admin)
    actions.do_move_visit(actor=actor, activity=Activity.objects.for_company(company.pk).get(pk=visit.pk),
                          visit_at=tokyo(2026, 3, 4, 10, 0), read_version=read)
    # when / then
    with pytest.raises(Conflict), transaction.atomic():
        actions.do_move_visit(actor=actor, activity=visit, visit_at=tokyo(2026, 3, 5, 10, 0), read_version=read)
    visit.refresh_from_db()
    assert visit.occurred_at == tokyo(2026, 3, 4, 10, 0)
    assert AuditEvent.objects.for_company(company.pk).filter(object_type="crm.activity", object_id=str(visit.pk), verb="update").count() == 1


def test_completing_a_visit_records_its_result_and_the_cases_last_contact(company, org, company_admin):
    # given
    case = testing.make_case(company, org["SBY"], main_assignee=company_admin)
    visit_at = timezone.now() - datetime.timedelta(hours=1)
    visit = book(company_admin, case, visit_at, subject="内見の相談")
    # when
    done = actions.do_complete_visit(actor=actor_for(company_admin), activity=visit, result="2件内見、1件申込検討",
                                     read_version=ReadVersion.of(visit))
    again = actions.do_complete_visit(actor=actor_for(company_admin), activity=visit)
    # then
    visit.refresh_from_db()
    case.refresh_from_db()
    assert (done, again, visit.is_done, visit.body) == (True, False, True, "2件内見、1件申込検討")
    assert case.last_contact_at == visit_at


def test_completing_an_old_visit_does_not_move_a_later_last_contact_back(company, org, company_admin):
    # given
    case = testing.make_case(company, org["SBY"], main_assignee=company_admin)
    later = timezone.now() - datetime.timedelta(minutes=5)
    Case.objects.for_company(company.pk).filter(pk=case.pk).update(last_contact_at=later)
    visit = book(company_admin, case, timezone.now() - datetime.timedelta(days=2))
    # when
    actions.do_complete_visit(actor=actor_for(company_admin), activity=visit)
    # then
    case.refresh_from_db()
    assert case.last_contact_at == later


def test_a_visit_completed_ahead_of_time_counts_as_contact_now_not_in_the_future(company, org, company_admin):
    # given
    case = testing.make_case(company, org["SBY"], main_assignee=company_admin)
    visit = book(company_admin, case, timezone.now() + datetime.timedelta(days=1))
    # when
    before = timezone.now()
    actions.do_complete_visit(actor=actor_for(company_admin), activity=visit)
    # then
    case.refresh_from_db()
    assert before <= case.last_contact_at <= timezone.now()


def test_cancelling_removes_the_visit_and_keeps_it_in_the_audit(company, org, company_admin):
    # given
    case = testing.make_case(company, org["SBY"], main_assignee=company_admin)
    visit = book(company_admin, case, tokyo(2026, 3, 3, 10, 0))
    # when
    actions.do_cancel_visit(actor=actor_for(company_admin), activity=visit, read_version=ReadVersion.of(visit))
    # then
    assert not Activity.objects.for_company(company.pk).filter(pk=visit.pk).exists()
    event = AuditEvent.objects.for_company(company.pk).get(object_type="crm.activity", object_id=str(visit.pk), verb="cancel")
    assert datetime.datetime.fromisoformat(event.before["visit_at"]) == tokyo(2026, 3, 3, 10, 0)


def test_a_done_visit_can_be_neither_moved_nor_cancelled(company, org, company_admin):
    # given
    case = testing.make_case(company, org["SBY"], main_assignee=company_admin)
    visit = book(company_admin, case, timezone.now())
    actions.do_complete_visit(actor=actor_for(company_admin), activity=visit)
    # then
    for attempt in (lambda: actions.do_move_visit(actor=actor_for(company_admin), activity=visit, visit_at=timezone.now()),
                    lambda: actions.do_cancel_visit(actor=actor_for(company_admin), activity=visit)):
        with pytest.raises(ApplicationError) as refused, transaction.atomic():
            attempt()
        assert refused.value.code == "visit_done"
    assert Activity.objects.for_company(company.pk).get(pk=visit.pk).is_done


# ---------------------------------------------------------------------------------------------
# Pages


def test_an_agent_opens_on_their_own_visits_and_may_show_the_whole_unit(client, company, org, agent, company_admin):
    # given: this week, a visit of the agent's case and one of the admin's case, both held by 渋谷店
    case = testing.make_case(company, org["SBY"], main_assignee=agent)
    today = timezone.localdate()
    noon = tokyo(*today.timetuple()[:3], 12, 0)
    mine = book(agent, case, noon)
    admins = book(company_admin, testing.make_case(company, org["SBY"], main_assignee=company_admin), noon + datetime.timedelta(minutes=30))
    client.force_login(agent)
    # when
    own = client.get(reverse("visits:calendar"))
    everyone = client.get(reverse("visits:calendar"), {"agent": "all"})
    # then
    assert own.status_code == 200
    assert (own.context["unit_id"], own.context["staff"]) == (org["SBY"].pk, str(agent.pk))
    assert [len(day["visits"]) for day in own.context["days"]] == [1 if day["date"] == today else 0 for day in own.context["days"]]
    assert [visit.pk for day in everyone.context["days"] for visit in day["visits"]] == [mine.pk, admins.pk]
    assert f'data-visit-id="{mine.pk}"' in own.content.decode()


def test_a_visit_booked_for_an_agent_s_case_is_on_the_agent_s_calendar(client, company, org, agent, company_admin):
    # given: the admin (reception) books a visit for the agent's customer
    case = testing.make_case(company, org["SBY"], main_assignee=agent)
    visit = book(company_admin, case, next_week_at(11))
    client.force_login(agent)
    # when
    own = client.get(reverse("visits:calendar"), {"week": visit.occurred_at.date().isoformat()})
    # then: it is the agent's visit; the audit keeps who booked it
    assert visit.actor_id == agent.pk
    assert [item.pk for day in own.context["days"] for item in day["visits"]] == [visit.pk]
    assert AuditEvent.objects.for_company(company.pk).filter(object_type="crm.activity", object_id=str(visit.pk), verb="create",
                                                        actor=company_admin).exists()


def test_the_calendar_moves_by_weeks(client, company, org, company_admin):
    # given
    client.force_login(company_admin)
    # when
    response = client.get(reverse("visits:calendar"), {"week": "2026-03-05", "unit": org["SBY"].pk})
    # then
    assert [day["date"] for day in response.context["days"]] == [datetime.date(2026, 3, 2) + datetime.timedelta(days=i) for i in range(7)]
    assert "week=2026-02-23" in response.context["previous_url"] and "week=2026-03-09" in response.context["next_url"]
    assert f"unit={org['SBY'].pk}" in response.context["next_url"]


def test_a_link_to_someones_visits_opens_the_calendar_of_their_unit(client, company, org, agent, company_admin):
    # given: the dashboard's link of an agent, followed by the company admin (acting in 本社)
    client.force_login(company_admin)
    # when
    response = client.get(reverse("visits:calendar"), {"agent": agent.pk})
    # then
    assert (response.context["unit_id"], response.context["staff"]) == (org["SBY"].pk, str(agent.pk))


def test_a_week_that_is_no_date_shows_this_week(client, company, org, agent):
    # given
    client.force_login(agent)
    # when
    responses = [client.get(reverse("visits:calendar"), {"week": week}) for week in ("2026-02-30", "next", "2026-03-05T10:00")]
    # then
    this_monday = selectors.week_of(timezone.localdate())[0]
    assert [(response.status_code, response.context["monday"]) for response in responses] == [
        (200, this_monday), (200, this_monday), (200, datetime.date(2026, 3, 2))]


def test_a_unit_the_actor_may_not_open_falls_back_to_their_own(client, company, org, agent):
    # given
    client.force_login(agent)
    # when
    response = client.get(reverse("visits:calendar"), {"unit": org["SJK"].pk})
    # then
    assert response.context["unit_id"] == org["SBY"].pk


def test_booking_from_the_calendar_finds_the_case_by_phone(client, company, org, agent):
    # given
    case = testing.make_case(company, org["SBY"], main_assignee=agent, phones=(("mobile", "090-5555-1234"),))
    client.force_login(agent)
    when = next_week_at(14)
    # when: search, then book
    found = client.get(reverse("visits:new"), {"q": "09055551234"})
    booked = client.post(reverse("visits:new"), {"case": case.pk, "visit_at": when.strftime("%Y-%m-%dT%H:%M"),
                                                 "org_unit": org["SBY"].pk, "subject": "来店"})
    # then
    assert [value for value, _label in found.context["form"].fields["case"].choices] == [case.pk]
    assert booked.status_code == 302
    visit = Activity.objects.for_company(company.pk).get(case=case, kind=ActivityKind.VISIT_APPOINTMENT)
    assert (visit.occurred_at, visit.org_unit_id, visit.actor_id, visit.is_done) == (when, org["SBY"].pk, agent.pk, False)
    assert f"week={timezone.localdate(when).isoformat()}" in booked["Location"]


def test_booking_a_case_the_agent_cannot_see_is_refused_and_writes_nothing(client, company, org, agent, other_company):
    # given: a case of 新宿店 (assignees) the agent is not assigned to, and another company's case
    hidden = testing.make_case(company, org["SJK"])
    client.force_login(agent)
    # when
    responses = [client.post(reverse("visits:new"), {"case": case.pk, "visit_at": next_week_at(10).strftime("%Y-%m-%dT%H:%M"),
                                                     "org_unit": org["SBY"].pk}) for case in (hidden, other_company["case"])]
    # then
    assert [response.status_code for response in responses] == [400, 400]
    assert all(list(response.context["form"].errors) == ["case"] for response in responses)
    assert 'data-field="case"' in responses[0].content.decode()
    assert not Activity.objects.unscoped().filter(kind=ActivityKind.VISIT_APPOINTMENT).exists()


def test_moving_on_the_page_with_an_old_version_says_so_and_keeps_the_visit(client, company, org, agent):
    # given: the page read, then the visit moved elsewhere
    case = testing.make_case(company, org["SBY"], main_assignee=agent)
    visit = book(agent, case, next_week_at(10))
    client.force_login(agent)
    page = client.get(reverse("visits:detail", kwargs={"activity_id": visit.pk}))
    version = page.context["move_form"].initial["version"]
    url = reverse("visits:move", kwargs={"activity_id": visit.pk})
    first = client.post(url, {"visit_at": next_week_at(11).strftime("%Y-%m-%dT%H:%M"), "org_unit": org["SBY"].pk, "version": version})
    # when
    second = client.post(url, {"visit_at": next_week_at(15).strftime("%Y-%m-%dT%H:%M"), "org_unit": org["SBY"].pk, "version": version})
    # then
    visit.refresh_from_db()
    assert (first.status_code, second.status_code) == (302, 409)
    assert visit.occurred_at == next_week_at(11)
    assert "Someone else saved this after you opened it" in second.content.decode()


def test_completing_and_cancelling_on_the_page(client, company, org, agent):
    # given
    case = testing.make_case(company, org["SBY"], main_assignee=agent)
    first, second = book(agent, case, next_week_at(10)), book(agent, case, next_week_at(12))
    client.force_login(agent)

    def version(visit):
        return client.get(reverse("visits:detail", kwargs={"activity_id": visit.pk})).context["complete_form"].initial["version"]

    # when
    completed = client.post(reverse("visits:complete", kwargs={"activity_id": first.pk}), {"result": "申込へ", "version": version(first)})
    cancelled = client.post(reverse("visits:cancel", kwargs={"activity_id": second.pk}), {"version": version(second)})
    # then
    first.refresh_from_db()
    assert (completed.status_code, cancelled.status_code) == (302, 302)
    assert (first.is_done, first.body) == (True, "申込へ")
    assert not Activity.objects.for_company(company.pk).filter(pk=second.pk).exists()


def test_a_hidden_visit_is_not_found_on_any_page(client, company, org, agent, company_admin):
    # given: a visit of a 新宿店 case (assignees visibility; the agent is of 渋谷店)
    visit = book(company_admin, testing.make_case(company, org["SJK"]), next_week_at(10))
    client.force_login(agent)
    # then
    assert client.get(reverse("visits:detail", kwargs={"activity_id": visit.pk})).status_code == 404
    for name in ("visits:move", "visits:complete", "visits:cancel"):
        assert client.post(reverse(name, kwargs={"activity_id": visit.pk}), {}).status_code == 404
    assert Activity.objects.for_company(company.pk).get(pk=visit.pk).is_done is False


# ---------------------------------------------------------------------------------------------
# API


@pytest.fixture
def agent_api(client, agent):
    from estatecrm.crm.tests.test_api import Api

    return Api(client, agent)


def test_api_lists_the_visits_of_a_range_the_agent_sees(agent_api, company, org, agent, company_admin):
    # given: a visit of the agent's case, one of a 新宿店 case hidden from them, one outside the range
    case = testing.make_case(company, org["SBY"], main_assignee=agent)
    shown = book(agent, case, tokyo(2026, 3, 3, 10, 0))
    book(company_admin, testing.make_case(company, org["SJK"]), tokyo(2026, 3, 3, 11, 0))
    book(agent, case, tokyo(2026, 3, 9, 0, 0))
    # when
    response = agent_api.get("/visits", {"start": "2026-03-02T00:00:00+09:00", "end": "2026-03-09T00:00:00+09:00"})
    # then
    assert response.status_code == 200
    assert [(item["id"], item["customer_name"], item["is_done"]) for item in response.json()] == [(shown.pk, "佐藤 花子", False)]


def test_api_refuses_a_range_too_long_or_a_unit_the_caller_may_not_open(agent_api, org):
    # when
    too_long = agent_api.get("/visits", {"start": "2026-03-01T00:00:00+09:00", "end": "2026-06-01T00:00:00+09:00"})
    other_unit = agent_api.get("/visits", {"unit_id": org["SJK"].pk})
    # then
    assert (too_long.status_code, other_unit.status_code) == (422, 422)
    assert (list(too_long.json()["error"]["fields"]), list(other_unit.json()["error"]["fields"])) == (["end"], ["unit_id"])


def test_api_moves_with_the_version_read_and_refuses_a_stale_one(agent_api, company, org, agent):
    # given
    visit = book(agent, testing.make_case(company, org["SBY"], main_assignee=agent), tokyo(2026, 3, 3, 10, 0))
    read = agent_api.get("/visits", {"start": "2026-03-02T00:00:00+09:00"}).json()[0]["updated_at"]
    path = f"/visits/{visit.pk}"
    # when
    moved = agent_api.patch(path, {"visit_at": "2026-03-04T15:00:00+09:00", "updated_at": read})
    stale = agent_api.patch(path, {"visit_at": "2026-03-05T15:00:00+09:00", "updated_at": read})
    unversioned = agent_api.patch(path, {"visit_at": "2026-03-05T15:00:00+09:00"})
    # then
    assert (moved.status_code, stale.status_code, unversioned.status_code) == (200, 409, 428)
    assert moved.json()["occurred_at"].startswith("2026-03-04T06:00:00")
    visit.refresh_from_db()
    assert visit.occurred_at == tokyo(2026, 3, 4, 15, 0)


def test_api_cancels_a_visit(agent_api, company, org, agent):
    # given
    visit = book(agent, testing.make_case(company, org["SBY"], main_assignee=agent), tokyo(2026, 3, 3, 10, 0))
    # when
    stale = agent_api.send("delete", f"/visits/{visit.pk}", HTTP_IF_MATCH='"1-1.000000"')
    response = agent_api.send("delete", f"/visits/{visit.pk}", HTTP_IF_MATCH=f'"{visit.pk}-{visit.updated_at.timestamp():.6f}"')
    # then
    assert (stale.status_code, response.status_code) == (409, 204)
    assert not Activity.objects.for_company(company.pk).filter(pk=visit.pk).exists()
