import re

import pytest
from django.test import Client
from django.urls import reverse

from estatecrm.core import testing
from estatecrm.crm.models import DuplicateSettings
from estatecrm.dedup import selectors
from estatecrm.tenancy.choices import Role
from estatecrm.tenancy.selectors import actor_for

pytestmark = pytest.mark.django_db


def client_of(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def group_ids(html: str) -> list[str]:
    return re.findall(r'data-testid="candidate-group" data-case-ids="([\d,]+)"', html)


@pytest.fixture
def three(company, org, agent):
    """Three cases of the agent: the first two share a phone and an e-mail; the third only the phone."""
    first = testing.make_case(company, org["SBY"], main_assignee=agent, customer_name="佐藤 花子")
    second = testing.make_case(company, org["SBY"], main_assignee=agent, customer_name="佐藤 はなこ")
    third = testing.make_case(company, org["SBY"], main_assignee=agent, customer_name="サトウ ハナコ", emails=("other@example.jp",))
    return first, second, third


def test_candidate_page_shows_one_group_with_reasons_and_the_phone_in_national_format(agent, three):
    # given
    first, second, third = three
    # when
    response = client_of(agent).get(reverse("dedup:candidates"))
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert group_ids(html) == [f"{third.pk},{second.pk},{first.pk}"]
    assert html.count('data-testid="candidate-pair"') == 3
    assert "Same phone number: 090-1234-5678" in html
    assert "Same e-mail address: hanako@example.jp" in html


def test_candidate_groups_are_newest_first_and_keyset_paged(company, org, agent):
    # given: three separate pairs
    pairs = [(testing.make_case(company, org["SBY"], main_assignee=agent, phones=(("mobile", f"090-4444-000{n}"),), emails=()),
              testing.make_case(company, org["SBY"], main_assignee=agent, phones=(("mobile", f"090-4444-000{n}"),), emails=()))
             for n in range(3)]
    actor = actor_for(agent)
    # when
    first_page = selectors.candidate_groups(actor=actor, filters=selectors.CandidateFilters(), size=2)
    second_page = selectors.candidate_groups(actor=actor, filters=selectors.CandidateFilters(), cursor=first_page.next_cursor, size=2)
    # then
    assert [[case.pk for case in group.cases] for group in first_page.groups] == [
        [pairs[2][1].pk, pairs[2][0].pk], [pairs[1][1].pk, pairs[1][0].pk]]
    assert [[case.pk for case in group.cases] for group in second_page.groups] == [[pairs[0][1].pk, pairs[0][0].pk]]
    assert second_page.next_cursor is None


def test_candidate_filter_by_rule_keeps_the_pairs_of_that_rule(agent, three):
    # given
    first, second, third = three
    # when
    html = client_of(agent).get(reverse("dedup:candidates") + "?rule=email").content.decode()
    # then
    assert group_ids(html) == [f"{second.pk},{first.pk}"]
    assert html.count('data-testid="candidate-pair"') == 1


def test_candidate_page_of_one_case(agent, three, company, org):
    # given: a separate pair too
    first, second, third = three
    testing.make_case(company, org["SBY"], main_assignee=agent, phones=(("mobile", "090-7777-0000"),), emails=())
    testing.make_case(company, org["SBY"], main_assignee=agent, phones=(("mobile", "090-7777-0000"),), emails=())
    # when
    html = client_of(agent).get(reverse("dedup:candidates") + f"?case={first.pk}").content.decode()
    # then
    assert group_ids(html) == [f"{third.pk},{second.pk},{first.pk}"]


def test_an_agent_sees_no_pair_with_a_case_outside_their_visibility(company, org, agent):
    # given: the agent's case and a case of 新宿店 (assignees visibility: not theirs) share a phone
    mine = testing.make_case(company, org["SBY"], main_assignee=agent)
    colleague = testing.make_user(company, org["SJK"], name="新宿 担当")
    hidden = testing.make_case(company, org["SJK"], main_assignee=colleague, customer_name="機密 顧客")
    # when
    agent_html = client_of(agent).get(reverse("dedup:candidates")).content.decode()
    admin = testing.make_user(company, org["HQ"], role=Role.ADMIN, name="本社 管理")
    admin_html = client_of(admin).get(reverse("dedup:candidates")).content.decode()
    # then
    assert group_ids(agent_html) == []
    assert "機密 顧客" not in agent_html
    assert group_ids(admin_html) == [f"{hidden.pk},{mine.pk}"]


def test_candidate_page_of_another_company_case_is_404(agent, three, other_company):
    response = client_of(agent).get(reverse("dedup:candidates") + f"?case={other_company['case'].pk}")
    assert response.status_code == 404


def test_dismiss_from_the_page_then_undo(company, agent, three):
    # given
    first, second, third = three
    client = client_of(agent)
    # when
    response = client.post(reverse("dedup:dismiss"), {"case_a": first.pk, "case_b": second.pk, "next": reverse("dedup:candidates")})
    page = client.get(reverse("dedup:candidates")).content.decode()
    # then
    assert response.status_code == 302
    assert f'data-pair="{first.pk}-{second.pk}"' not in page
    assert f'data-pair="{first.pk}-{third.pk}"' in page
    assert 'data-testid="dismissals"' in page
    # when: undone from the list of recent ones
    dismissal_id = re.search(r'/dedup/dismissals/(\d+)/undo/', page).group(1)
    client.post(reverse("dedup:undo_dismissal", kwargs={"dismissal_id": dismissal_id}))
    # then
    assert f'data-pair="{first.pk}-{second.pk}"' in client.get(reverse("dedup:candidates")).content.decode()


def test_merge_wizard_first_step_lists_the_cases_with_the_oldest_to_keep(agent, three):
    # given
    first, second, third = three
    # when
    response = client_of(agent).get(reverse("dedup:merge"), {"case_ids": [third.pk, first.pk]})
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert re.findall(r'<tr data-case-id="(\d+)"', html) == [str(first.pk), str(third.pk)]
    assert re.search(rf'value="{first.pk}" checked data-testid="survivor-{first.pk}"', html)


def test_merge_wizard_needs_two_cases(agent, three):
    response = client_of(agent).get(reverse("dedup:merge"), {"case_ids": [three[0].pk]})
    assert response.status_code == 302


def test_merge_wizard_with_an_invisible_case_is_404(company, org, agent, three, other_company):
    response = client_of(agent).get(reverse("dedup:merge"), {"case_ids": [three[0].pk, other_company["case"].pk]})
    assert response.status_code == 404


def test_case_list_shows_the_flag_and_links_to_the_case_candidates(company, org, agent, three):
    # given
    lonely = testing.make_case(company, org["SBY"], main_assignee=agent, phones=(("mobile", "090-9999-0000"),), emails=())
    # when
    html = client_of(agent).get(reverse("crm:list")).content.decode()
    # then
    flagged = re.findall(r'<a class="duplicate-flag" href="/dedup/\?case=(\d+)"', html)
    assert sorted(flagged) == sorted(str(case.pk) for case in three)
    assert str(lonely.pk) not in flagged


def test_case_page_warns_of_candidates_with_a_link(agent, three):
    # given
    first, second, third = three
    # when
    html = client_of(agent).get(reverse("crm:detail", kwargs={"case_id": first.pk})).content.decode()
    # then
    assert "There are possible duplicate customers." in html
    assert f'href="/dedup/?case={first.pk}" data-testid="duplicate-candidates-link"' in html
    assert f"#{second.number}" in html and f"#{third.number}" in html


def test_shared_page_lists_values_held_by_the_threshold(company, org, agent, company_admin):
    # given: the threshold at 3; one phone held by three customers
    DuplicateSettings.objects.create(company=company, shared_threshold=3)
    for _n in range(3):
        testing.make_case(company, org["SBY"], main_assignee=agent, phones=(("phone", "03-1234-5678"),), emails=())
    # when
    html = client_of(company_admin).get(reverse("dedup:shared")).content.decode()
    # then
    rows = re.findall(r'<tr data-value="([^"]+)">\s*<td[^>]*>([^<]+)</td>\s*<td[^>]*>([^<]+)</td>\s*<td[^>]*>(\d+)</td>', html)
    assert rows == [("+81312345678", "03-1234-5678", "Phone", "3")]


def test_shared_page_marks_a_value(company, company_admin):
    response = client_of(company_admin).post(reverse("dedup:shared"), {"value": "０３－１２３４－５６７８", "marking": "shared", "note": "代表"})
    assert response.status_code == 302
    html = client_of(company_admin).get(reverse("dedup:shared")).content.decode()
    assert '<tr data-value="+81312345678">' in html


def test_settings_page_saves(company, company_admin):
    response = client_of(company_admin).post(reverse("dedup:settings"), {
        "enabled_rules": ["phone", "email"], "shared_threshold": "4", "fuzzy_min_score": "0.9"})
    assert response.status_code == 302
    saved = DuplicateSettings.objects.for_company(company).get()
    assert (saved.enabled_rules, saved.shared_threshold, saved.fuzzy_min_score) == (["phone", "email"], 4, 0.9)


def test_settings_page_shows_field_errors(company, company_admin):
    response = client_of(company_admin).post(reverse("dedup:settings"), {"enabled_rules": ["phone"], "shared_threshold": "1",
                                                                          "fuzzy_min_score": "0.9"})
    assert response.status_code == 400
    assert DuplicateSettings.objects.for_company(company).count() == 0


def test_candidate_page_query_count_does_not_grow_with_groups(company, org, agent, django_assert_max_num_queries):
    # given: five separate pairs
    for n in range(5):
        for _twice in range(2):
            testing.make_case(company, org["SBY"], main_assignee=agent, phones=(("mobile", f"090-3333-000{n}"),), emails=())
    client = client_of(agent)
    # when / then: per group a bounded number of indexed queries (the walk, the cases, phones, e-mails)
    with django_assert_max_num_queries(60):
        response = client.get(reverse("dedup:candidates"))
    assert len(group_ids(response.content.decode())) == 5


def test_merge_confirm_shows_the_result_and_writes_nothing_then_run_merges_and_undo_restores(company, agent, three):
    from estatecrm.crm.models import Case
    from estatecrm.dedup.models import Merge

    # given
    first, second, third = three
    client = client_of(agent)
    data = {"all_case_ids": [first.pk, second.pk, third.pk], "case_ids": [first.pk, second.pk], "survivor": first.pk, "mode": "integrate"}
    # when: step 3
    response = client.post(reverse("dedup:merge_confirm"), data)
    # then: the plan, nothing written
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="merge-result"' in html and 'data-testid="merge-run"' in html
    assert Merge.objects.for_company(company).count() == 0
    # when: 名寄せを実行する
    response = client.post(reverse("dedup:merge_run"), data)
    # then: the survivor's page; the other case merged away; the undo link in the message
    merge = Merge.objects.for_company(company).get()
    assert response.status_code == 302 and response.url == reverse("crm:detail", kwargs={"case_id": first.pk})
    assert Case.objects.unscoped().get(pk=second.pk).merged_into_id == first.pk
    page = client.get(response.url).content.decode()
    assert f'href="/dedup/merges/#merge-{merge.pk}" data-testid="merge-undo-link"' in page
    # when: undone from the history
    history = client.get(reverse("dedup:merges")).content.decode()
    assert f'action="/dedup/merges/{merge.pk}/undo/"' in history
    response = client.post(reverse("dedup:merge_undo", kwargs={"merge_id": merge.pk}))
    # then
    assert response.status_code == 302
    assert Case.objects.unscoped().get(pk=second.pk).merged_into_id is None
    assert Merge.objects.for_company(company).get().undone_at is not None


def test_merge_of_a_case_the_agent_may_not_edit_names_it_and_writes_nothing(company, org, agent):
    from estatecrm.dedup.models import Merge

    # given: a colleague's case of SBY (the agent sees it, org visibility, but is not assigned to it)
    colleague = testing.make_user(company, org["SBY"], name="渋谷 同僚")
    own = testing.make_case(company, org["SBY"], main_assignee=agent)
    theirs = testing.make_case(company, org["SBY"], main_assignee=colleague)
    data = {"all_case_ids": [own.pk, theirs.pk], "case_ids": [own.pk, theirs.pk], "survivor": own.pk, "mode": "link"}
    # when
    response = client_of(agent).post(reverse("dedup:merge_run"), data)
    # then
    assert response.status_code == 403
    assert f"#{theirs.number}" in response.content.decode()
    assert Merge.objects.for_company(company).count() == 0


def test_a_merged_case_page_lands_on_the_survivor_with_a_banner(company, agent, three):
    from estatecrm.core.scope import company_scope
    from estatecrm.dedup.merge import MergeRequest, do_merge_cases

    # given
    first, second, _third = three
    with company_scope(company):
        do_merge_cases(acting_user=agent, request=MergeRequest(survivor_id=first.pk, case_ids=[second.pk], integrate=True))
    client = client_of(agent)
    # when
    response = client.get(reverse("crm:detail", kwargs={"case_id": second.pk}), follow=True)
    # then
    html = response.content.decode()
    assert response.redirect_chain == [(reverse("crm:detail", kwargs={"case_id": first.pk}) + f"?merged_from={second.pk}", 302)]
    assert f"Case #{second.number} was merged into this case (#{first.number})." in html
    # and: a made-up merged_from shows no banner
    other = client.get(reverse("crm:detail", kwargs={"case_id": first.pk}) + f"?merged_from={first.pk}").content.decode()
    assert 'data-testid="merged-banner"' not in other
