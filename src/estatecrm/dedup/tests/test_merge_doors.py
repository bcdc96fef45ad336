"""The merge's other doors: `estatecrm dedup merge|undo`, `export cases [--include-merged]`, a merged case's URL."""

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from estatecrm.core import testing
from estatecrm.core.scope import company_scope
from estatecrm.crm.models import Activity, Case
from estatecrm.dedup.merge import MergeRequest, do_merge_cases
from estatecrm.dedup.models import Merge
from estatecrm.dedup.tests.factories import add_history, database_state

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_the_command_merges_and_undoes_as_a_user(company, org, company_admin):
    # given
    survivor, first, second = (testing.make_case(company, org["SBY"]) for _ in range(3))
    add_history(first, activities=2)
    # when
    printed = json.loads(run("dedup", "merge", "--company", "acme", "--as", company_admin.email, "--survivor", str(survivor.pk),
                             "--cases", f"{second.pk},{first.pk}", "--integrate", "--fill-empty", "--json"))
    # then
    merge = Merge.objects.for_company(company).get()
    assert printed == {"merge_id": merge.pk, "survivor": survivor.pk, "merged": sorted([first.pk, second.pk]), "mode": "integrate"}
    assert (merge.acting_user_id, merge.mode) == (company_admin.pk, "integrate")
    with company_scope(company):
        assert Activity.objects.filter(case=survivor).count() == 2
    # and undone by the operator
    printed = json.loads(run("dedup", "undo", str(merge.pk), "--json"))
    merge.refresh_from_db()
    assert printed == {"merge_id": merge.pk, "survivor": survivor.pk, "undone_at": merge.undone_at.isoformat()}
    assert (merge.undone_by_id, Case.objects.for_company(company).filter(deleted_at__isnull=False).count()) == (None, 0)


def test_the_command_links_without_integrate_and_prints_plain_text(company, org, company_admin):
    survivor, other = testing.make_case(company, org["SBY"]), testing.make_case(company, org["SBY"])
    printed = run("dedup", "merge", "--company", "acme", "--as", company_admin.email, "--survivor", str(survivor.pk), "--cases", str(other.pk))
    merge = Merge.objects.for_company(company).get()
    assert printed == f"merge_id: {merge.pk}\nsurvivor: {survivor.pk}\nmerged: [{other.pk}]\nmode: link\n"
    assert Case.objects.for_company(company).get(pk=other.pk).customer_id == survivor.customer_id


def test_the_command_refuses_with_a_message_and_writes_nothing(company, org, agent, other_company):
    mine = testing.make_case(company, org["SBY"], main_assignee=agent)
    theirs = testing.make_case(company, org["SBY"])
    before = database_state(company.pk)
    refusals = [
        (["--as", agent.email, "--survivor", str(mine.pk), "--cases", str(theirs.pk)],
         f"You may not merge case #{theirs.number}: only its assignees and the administrators of its unit may."),
        (["--as", agent.email, "--survivor", str(mine.pk), "--cases", str(other_company["case"].pk)],
         "A case of the merge does not exist or is not visible to you."),
        (["--as", agent.email, "--survivor", str(mine.pk), "--cases", str(mine.pk)],
         "The survivor cannot also be one of the cases merged into it."),
        (["--as", agent.email, "--survivor", str(mine.pk), "--cases", "x,1"], "--cases takes case ids separated by commas, not 'x,1'"),
    ]
    for options, message in refusals:
        with pytest.raises(CommandError) as refused:
            run("dedup", "merge", "--company", "acme", "--integrate", *options)
        assert str(refused.value) == message
    with pytest.raises(CommandError, match="No merge 4242"):
        run("dedup", "undo", "4242")
    assert database_state(company.pk) == before
    assert Merge.objects.unscoped().count() == 0


def test_the_undo_command_as_a_user_follows_their_rights(company, org, agent, company_admin):
    mine = testing.make_case(company, org["SBY"], main_assignee=agent)
    theirs = testing.make_case(company, org["SBY"])
    with company_scope(company):
        merge = do_merge_cases(acting_user=company_admin, request=MergeRequest(mine.pk, [theirs.pk], integrate=True))
    with pytest.raises(CommandError, match=f"You may not merge case #{theirs.number}"):
        run("dedup", "undo", str(merge.pk), "--as", agent.email)
    merge.refresh_from_db()
    assert merge.undone_at is None


def test_export_names_the_survivor_and_leaves_merged_cases_out_unless_asked(company, org, company_admin):
    survivor, merged, linked = (testing.make_case(company, org["SBY"]) for _ in range(3))
    with company_scope(company):
        do_merge_cases(acting_user=company_admin, request=MergeRequest(survivor.pk, [merged.pk], integrate=True))
        do_merge_cases(acting_user=company_admin, request=MergeRequest(survivor.pk, [linked.pk], integrate=False))
    plain = [json.loads(line) for line in run("export", "cases", "--company", "acme").splitlines()]
    assert [(record["id"], record["merged_into"]) for record in plain] == [(survivor.pk, None), (linked.pk, None)]
    assert len({record["customer"]["id"] for record in plain}) == 1
    every = [json.loads(line) for line in run("export", "cases", "--company", "acme", "--include-merged").splitlines()]
    assert [(record["id"], record["merged_into"]) for record in every] == [(survivor.pk, None), (merged.pk, survivor.pk), (linked.pk, None)]
    csv_header = run("export", "cases", "--company", "acme", "--format", "csv").lstrip("\ufeff").splitlines()[0].split(",")
    assert csv_header[-2:] == ["created_at", "merged_into"]


def test_a_merged_cases_page_redirects_to_its_survivor(client, company, org, company_admin, agent):
    a, b, c = (testing.make_case(company, org["SBY"]) for _ in range(3))
    with company_scope(company):
        do_merge_cases(acting_user=company_admin, request=MergeRequest(b.pk, [a.pk], integrate=True))
        do_merge_cases(acting_user=company_admin, request=MergeRequest(c.pk, [b.pk], integrate=True))
    client.force_login(agent)
    response = client.get(reverse("crm:detail", kwargs={"case_id": a.pk}))
    assert (response.status_code, response["Location"]) == (302, reverse("crm:detail", kwargs={"case_id": c.pk}) + f"?merged_from={a.pk}")
    # a case the user does not see stays not found, merged or not
    hidden = testing.make_case(company, org["SJK"])
    with company_scope(company):
        do_merge_cases(acting_user=company_admin, request=MergeRequest(c.pk, [hidden.pk], integrate=True))
    assert client.get(reverse("crm:detail", kwargs={"case_id": hidden.pk})).status_code == 404
