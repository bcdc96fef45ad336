"""The case pages with the Django test client: list filters and keyset pages, detail, edits, bulk, export, new case."""

import datetime
import json
import re

import pytest
from django.core import mail  # noqa: F401
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from estatecrm.audit.models import AuditEvent
from estatecrm.core import testing
from estatecrm.crm.actions import do_update_customer, do_upsert_rank, do_upsert_sub_status, do_upsert_tag
from estatecrm.crm.choices import ActivityKind, CaseStatus
from estatecrm.crm.models import Activity, Attachment, Case, CaseTag, Customer, DesiredConditions
from estatecrm.tenancy.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english_pages(client):
    """Pages follow Accept-Language (Japanese by default); these tests assert English messages."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def admin_client(client, company_admin):
    client.force_login(company_admin)
    return client


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


def listed_ids(response) -> list[int]:
    return [case.pk for case in response.context["page"].items]


def test_list_filters_by_status_text_phone_and_email(admin_client, company, org, agent):
    # given
    sato = testing.make_case(company, org["SBY"], main_assignee=agent, customer_name="佐藤 花子", status=CaseStatus.FOLLOWING)
    suzuki = testing.make_case(company, org["SBY"], main_assignee=agent, customer_name="鈴木 一郎", status=CaseStatus.NEW,
                               phones=(("mobile", "080-2222-3333"),), emails=("ichiro@example.jp",))
    do_update_customer(customer=suzuki.customer, changes={"kana": "スズキ イチロウ"}, acting_user=None)
    # when / then
    url = reverse("crm:list")
    assert listed_ids(admin_client.get(url, {"status": "追客中"})) == [sato.pk]
    assert listed_ids(admin_client.get(url, {"q": "鈴木"})) == [suzuki.pk]
    assert listed_ids(admin_client.get(url, {"q": "０８０（２２２２）３３３３"})) == [suzuki.pk]
    assert listed_ids(admin_client.get(url, {"q": "ICHIRO@example.jp"})) == [suzuki.pk]
    assert listed_ids(admin_client.get(url, {"q": "すずき"})) == [suzuki.pk]
    assert listed_ids(admin_client.get(url, {"q": "髙橋"})) == []
    assert set(listed_ids(admin_client.get(url))) == {sato.pk, suzuki.pk}


def test_list_pages_by_keyset_without_repeating_or_skipping(admin_client, company, org, agent):
    # given
    cases = [testing.make_case(company, org["SBY"], main_assignee=agent) for _ in range(7)]
    # when
    seen = []
    url = reverse("crm:list") + "?sort=-created"
    while url:
        response = admin_client.get(url.replace("&amp;", "&"))
        page = response.context["page"]
        seen.extend(case.pk for case in page.items)
        url = (reverse("crm:list") + response.context["next_url"]) if response.context["next_url"] else ""
        if len(seen) > 20:
            break
    # then: with the page size forced small by the test below, here everything fits one page
    assert seen == sorted((case.pk for case in cases), reverse=True)


def test_keyset_pagination_with_small_pages(company, org, agent, company_admin):
    from estatecrm.crm.filtersets import CaseFilters, filter_cases, paginate_cases
    from estatecrm.tenancy.selectors import actor_for

    # given
    cases = [testing.make_case(company, org["SBY"], main_assignee=agent) for _ in range(5)]
    Case.objects.for_company(company).update(updated_at=timezone.now())  # ties on the sort value: pk breaks them
    actor = actor_for(company_admin)
    # when
    seen, cursor = [], ""
    for _ in range(10):
        page = paginate_cases(filter_cases(actor=actor, filters=CaseFilters()), sort="-updated", cursor=cursor, size=2)
        seen.extend(case.pk for case in page.items)
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    # then
    assert seen == sorted((case.pk for case in cases), reverse=True)


def test_side_menu_views_and_counts(agent_client, company, org, agent, company_admin):
    # given
    mine = testing.make_case(company, org["SBY"], main_assignee=agent, phones=(("mobile", "090-1111-2222"),), emails=())
    twin = testing.make_case(company, org["SBY"], main_assignee=company_admin, customer_name="佐藤花子", phones=(("mobile", "09011112222"),),
                             emails=())
    gone = testing.make_case(company, org["SBY"], main_assignee=agent, phones=(), emails=("gone@example.jp",))
    unsubscribed = testing.make_case(company, org["SBY"], main_assignee=agent, phones=(), emails=("stop@example.jp",))
    do_update_customer(customer=unsubscribed.customer, changes={"is_unsubscribed": True}, acting_user=None)
    Case.objects.for_company(company).filter(pk=gone.pk).update(deleted_at=timezone.now())
    url = reverse("crm:list")
    # when / then
    assert set(listed_ids(agent_client.get(url))) == {mine.pk, twin.pk}
    assert listed_ids(agent_client.get(url, {"view": "mine"})) == [mine.pk]
    assert set(listed_ids(agent_client.get(url, {"view": "duplicates"}))) == {mine.pk, twin.pk}
    assert listed_ids(agent_client.get(url, {"view": "unsubscribed"})) == [unsubscribed.pk]
    assert listed_ids(agent_client.get(url, {"view": "trash"})) == [gone.pk]
    assert json.loads(agent_client.get(reverse("crm:counts")).content) == {
        "all": 2, "mine": 1, "duplicates": 2, "unsubscribed": 1, "trash": 1, "today": 0, "overdue": 0, "new_uncontacted": 0,
        "new_inquiries": 0}


def test_agent_sees_only_visible_cases_and_other_cases_are_404(agent_client, company, org, company_admin, other_company):
    # given: SJK shows cases to their assignees only
    hidden = testing.make_case(company, org["SJK"], main_assignee=company_admin)
    # when / then
    assert listed_ids(agent_client.get(reverse("crm:list"))) == []
    assert agent_client.get(reverse("crm:detail", kwargs={"case_id": hidden.pk})).status_code == 404
    assert agent_client.get(reverse("crm:detail", kwargs={"case_id": other_company["case"].pk})).status_code == 404


def test_detail_shows_customer_contacts_and_timeline(agent_client, company, org, agent):
    case = testing.make_case(company, org["SBY"], main_assignee=agent, phones=(("mobile", "０９０-１２３４-５６７８"),))
    response = agent_client.get(reverse("crm:detail", kwargs={"case_id": case.pk}))
    assert response.status_code == 200
    html = response.content.decode()
    assert "+819012345678" in html and "佐藤 花子" in html


def test_add_activity_book_and_complete_visit(agent_client, company, org, agent):
    # given
    case = testing.make_case(company, org["SBY"], main_assignee=agent)
    detail = reverse("crm:detail", kwargs={"case_id": case.pk})
    # when
    response = agent_client.post(reverse("crm:activity-add", kwargs={"case_id": case.pk}), {"kind": "call", "subject": "折り返し", "body": "不在"})
    assert response.status_code == 302 and response["Location"].startswith(detail)
    visit_at = (timezone.localtime() + datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    agent_client.post(reverse("crm:visit-book", kwargs={"case_id": case.pk}), {"visit_at": visit_at, "org_unit": org["SBY"].pk})
    visit = Activity.objects.for_company(company).get(case=case, kind=ActivityKind.VISIT_APPOINTMENT)
    assert visit.is_done is False and visit.org_unit_id == org["SBY"].pk
    agent_client.post(reverse("crm:visit-complete", kwargs={"case_id": case.pk, "activity_id": visit.pk}))
    # then
    visit.refresh_from_db()
    assert visit.is_done is True
    assert list(Activity.objects.for_company(company).filter(case=case).values_list("kind", "subject").order_by("pk")) == [
        ("call", "折り返し"), ("visit_appointment", "")]


def test_desired_conditions_error_is_shown_next_to_the_field_and_nothing_saved(agent_client, company, org, agent):
    # given
    case = testing.make_case(company, org["SBY"], main_assignee=agent)
    url = reverse("crm:desired", kwargs={"case_id": case.pk})
    version = agent_client.get(url).context["form"].initial["version"]
    # when
    response = agent_client.post(url, {"rent_min": "12", "rent_max": "8", "layouts": ["1LDK"], "walk_minutes": "10", "version": version})
    # then
    assert response.status_code == 400
    assert response.context["form"].errors == {"rent_max": ["Must not be lower than the lower limit."]}
    assert DesiredConditions.objects.for_company(company).get(case=case).rent_max is None
    # when fixed
    response = agent_client.post(url, {"rent_min": "8", "rent_max": "12", "layouts": ["1LDK"], "walk_minutes": "10",
                                       "lines_stations": "JR山手線/渋谷駅", "areas": "渋谷区\n目黒区", "building_age": "0", "version": version})
    # then
    assert response.status_code == 302
    desired = DesiredConditions.objects.for_company(company).get(case=case)
    assert (desired.rent_min, desired.rent_max, desired.layouts, desired.walk_minutes, desired.building_age) == (8, 12, ["1LDK"], 10, 0)
    assert (desired.lines_stations, desired.areas) == ([{"line": "JR山手線", "station": "渋谷駅"}], ["渋谷区", "目黒区"])
    assert AuditEvent.objects.for_company(company).filter(object_type="crm.desiredconditions", verb="update").count() == 1


def test_edit_case_and_customer(agent_client, company, org, agent, company_admin):
    # given
    case = testing.make_case(company, org["SBY"], main_assignee=agent)
    tag, _ = do_upsert_tag(company=company, name="単身")
    case_url, customer_url = reverse("crm:edit", kwargs={"case_id": case.pk}), reverse("crm:customer", kwargs={"case_id": case.pk})
    case_version = agent_client.get(case_url).context["form"].initial["version"]
    customer_version = agent_client.get(customer_url).context["form"].initial["version"]
    # when
    response = agent_client.post(case_url, {
        "kind": "buy", "status": "申込中", "owning_org": org["SBY"].pk, "main_assignee": agent.pk, "tags": [tag.pk],
        "sub_assignees": [company_admin.pk], "started_on": "2026-04-01", "version": case_version})
    assert response.status_code == 302
    response = agent_client.post(customer_url, {
        "kind": "person", "name": "佐藤　花子", "kana": "さとう はなこ", "postal_code": "〒150-0002", "prefecture": "東京都",
        "city": "渋谷区", "street": "渋谷1-1", "version": customer_version})
    assert response.status_code == 302
    # then
    case.refresh_from_db()
    customer = Customer.objects.for_company(company).get(pk=case.customer_id)
    assert (case.kind, case.status, str(case.started_on)) == ("buy", "申込中", "2026-04-01")
    assert list(CaseTag.objects.for_company(company).filter(case=case).values_list("tag__name", flat=True)) == ["単身"]
    assert (customer.name, customer.kana, customer.postal_code) == ("佐藤 花子", "サトウ ハナコ", "150-0002")


def test_postal_code_lookup(agent_client):
    response = agent_client.get(reverse("crm:postal-lookup"), {"code": "1500002"})
    assert json.loads(response.content) == {"prefecture": "東京都", "city": "渋谷区", "town": "渋谷"}
    assert agent_client.get(reverse("crm:postal-lookup"), {"code": "000"}).status_code == 404


def test_attachments_upload_download_and_size_limit(agent_client, company, org, agent, settings, tmp_path):
    # given
    settings.MEDIA_ROOT = tmp_path
    settings.ATTACHMENT_MAX_BYTES = 10
    case = testing.make_case(company, org["SBY"], main_assignee=agent)
    url = reverse("crm:attachment-upload", kwargs={"case_id": case.pk})
    # when
    too_big = agent_client.post(url, {"file": SimpleUploadedFile("big.pdf", b"x" * 11)})
    ok = agent_client.post(url, {"file": SimpleUploadedFile("間取り.pdf", b"%PDF-1")})
    # then
    assert too_big.status_code == 400
    assert ok.status_code == 302
    attachment = Attachment.objects.for_company(company).get(case=case)
    assert (attachment.original_name, attachment.size) == ("間取り.pdf", 6)
    download = agent_client.get(reverse("crm:attachment-download", kwargs={"case_id": case.pk, "attachment_id": attachment.pk}))
    assert b"".join(download.streaming_content) == b"%PDF-1"


def test_bulk_reassign_as_admin_and_refused_for_agent(client, company, org, agent, company_admin):
    # given
    cases = [testing.make_case(company, org["SBY"], main_assignee=agent) for _ in range(3)]
    other_agent = testing.make_user(company, org["SBY"], email="b@acme.example.jp", name="新宿 二郎")
    payload = {"operation": "reassign", "main_assignee": other_agent.pk, "case_ids": [cases[0].pk, cases[1].pk]}
    # when an agent tries
    client.force_login(agent)
    refused = client.post(reverse("crm:bulk"), payload)
    # then
    assert refused.status_code == 403
    assert set(Case.objects.for_company(company).values_list("main_assignee_id", flat=True)) == {agent.pk}
    # when an admin does it
    client.force_login(company_admin)
    done = client.post(reverse("crm:bulk"), payload, follow=True)
    # then
    assert "2 cases changed." in done.content.decode()
    assert [Case.objects.for_company(company).get(pk=case.pk).main_assignee_id for case in cases] == [other_agent.pk, other_agent.pk, agent.pk]
    assert AuditEvent.objects.for_company(company).filter(object_type="crm.case", verb="update").count() == 2


def test_bulk_add_tag_refused_when_a_case_would_have_eleven_changes_nothing(admin_client, company, org, agent):
    # given
    tags = [do_upsert_tag(company=company, name=f"t{i}")[0] for i in range(11)]
    full = testing.make_case(company, org["SBY"], main_assignee=agent, tags=tags[:10])
    empty = testing.make_case(company, org["SBY"], main_assignee=agent)
    # when
    response = admin_client.post(reverse("crm:bulk"), {"operation": "add_tag", "tag": tags[10].pk, "case_ids": [empty.pk, full.pk]},
                                 follow=True)
    # then
    assert "nothing was changed" in response.content.decode()
    assert not CaseTag.objects.for_company(company).filter(case=empty).exists()


def test_bulk_status_and_trash(admin_client, company, org, agent):
    cases = [testing.make_case(company, org["SBY"], main_assignee=agent) for _ in range(2)]
    admin_client.post(reverse("crm:bulk"), {"operation": "set_status", "status": "保留", "case_ids": [cases[0].pk]})
    admin_client.post(reverse("crm:bulk"), {"operation": "trash", "case_ids": [cases[1].pk]})
    assert Case.objects.for_company(company).get(pk=cases[0].pk).status == "保留"
    assert Case.objects.for_company(company).get(pk=cases[1].pk).deleted_at is not None


def test_export_current_filter_as_csv(admin_client, company, org, agent):
    testing.make_case(company, org["SBY"], main_assignee=agent, status=CaseStatus.FOLLOWING)
    testing.make_case(company, org["SBY"], main_assignee=agent, status=CaseStatus.NEW, customer_name="鈴木 一郎")
    response = admin_client.get(reverse("crm:export"), {"status": "新規", "format": "csv"})
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeffid,")
    lines = body.strip().split("\r\n")
    assert len(lines) == 2 and "鈴木 一郎" in lines[1]


def test_new_case_with_duplicate_warning(agent_client, company, org, agent):
    # given
    existing = testing.make_case(company, org["SBY"], main_assignee=agent, phones=(("mobile", "090-1234-5678"),))
    # when
    warning = agent_client.get(reverse("crm:duplicate-check"), {"phone": "09012345678"})
    created = agent_client.post(reverse("crm:new"), {
        "customer_kind": "person", "name": "佐藤 花子", "kana": "サトウ ハナコ", "phone": "090-1234-5678", "email": "",
        "kind": "rent", "status": "新規", "owning_org": org["SBY"].pk, "main_assignee": agent.pk, "started_on": "2026-11-01"})
    # then
    assert f"#{existing.number} 佐藤 花子" in warning.content.decode()
    assert created.status_code == 302
    case = Case.objects.for_company(company).exclude(pk=existing.pk).get()
    assert (case.origin, case.owning_org_id, case.main_assignee_id) == ("manual", org["SBY"].pk, agent.pk)


def test_new_case_with_bad_phone_shows_the_error_and_writes_nothing(agent_client, company, org, agent):
    response = agent_client.post(reverse("crm:new"), {
        "customer_kind": "person", "name": "佐藤 花子", "phone": "abc", "kind": "rent", "status": "新規", "owning_org": org["SBY"].pk})
    assert response.status_code == 400
    assert response.context["form"].errors == {"phone": ["Enter a valid phone number (e.g. 090-1234-5678)."]}
    assert not Customer.objects.for_company(company).exists()


def test_list_query_count_does_not_grow_with_rows(admin_client, company, org, agent, django_assert_max_num_queries):
    tag, _ = do_upsert_tag(company=company, name="単身")
    for _ in range(20):
        testing.make_case(company, org["SBY"], main_assignee=agent, tags=[tag])
    admin_client.get(reverse("crm:list"))  # warm the session
    with django_assert_max_num_queries(18):
        response = admin_client.get(reverse("crm:list"))
    assert len(response.context["page"].items) == 20


def list_row(response, case) -> str:
    """The HTML of the case's row on the list page."""
    match = re.search(rf'<tr data-case-id="{case.pk}">(.*?)</tr>', response.content.decode(), re.DOTALL)
    assert match, f"case {case.pk} is not listed"
    return match.group(1)


def test_list_rows_name_the_rank_sub_status_unit_and_main_assignee_even_one_no_longer_active(admin_client, company, org, agent):
    # given: masters read from the filter bar's lists, and a main assignee the filter bar leaves out (not active)
    rank, _ = do_upsert_rank(company=company, name="Aランク")
    sub_status, _ = do_upsert_sub_status(company=company, status=CaseStatus.FOLLOWING, name="内見調整中")
    retired = testing.make_user(company, org["SJK"], email="retired@acme.example.jp", name="退職 次郎")
    ranked = testing.make_case(company, org["SBY"], main_assignee=agent, rank=rank, sub_status=sub_status)
    orphaned = testing.make_case(company, org["SJK"], main_assignee=retired)
    unassigned = testing.make_case(company, org["SJK"], main_assignee=None)
    User.objects.filter(pk=retired.pk).update(is_active=False)
    # when: the whole page and its rows alone (htmx)
    for response in (admin_client.get(reverse("crm:list")), admin_client.get(reverse("crm:list"), HTTP_HX_REQUEST="true")):
        # then
        row = list_row(response, ranked)
        assert '<div class="hint">内見調整中</div>' in row and 'data-label="Rank">Aランク</td>' in row, row
        assert 'data-label="Owning unit">渋谷店</td>' in row and 'data-label="Main assignee">渋谷 一郎</td>' in row, row
        row = list_row(response, orphaned)
        assert 'data-label="Rank"></td>' in row and '<div class="hint">' not in row.split('data-label="Status">')[1].split("</td>")[0], row
        assert 'data-label="Owning unit">新宿店</td>' in row and 'data-label="Main assignee">退職 次郎</td>' in row, row
        assert 'data-label="Main assignee"></td>' in list_row(response, unassigned)


def test_common_name_search_takes_the_list_order_path_with_the_same_result(admin_client, company, org, agent, monkeypatch):
    from estatecrm.crm import filtersets

    cases = [testing.make_case(company, org["SBY"], main_assignee=agent, customer_name=name) for name in ("佐藤 花子", "佐藤 一郎", "鈴木 一郎")]
    url = reverse("crm:list")
    collected = listed_ids(admin_client.get(url, {"q": "佐藤"}))
    monkeypatch.setattr(filtersets, "COMMON_NAME_CUSTOMERS", 1)
    assert listed_ids(admin_client.get(url, {"q": "佐藤"})) == collected == [cases[1].pk, cases[0].pk]
