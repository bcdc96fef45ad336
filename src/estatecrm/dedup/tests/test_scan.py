"""`estatecrm dedup scan`: every candidate recomputed as set work (dedup.scan), and the same rows as the incremental store."""

import datetime
import json
import random
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from estatecrm.core import testing
from estatecrm.core.scope import company_scope
from estatecrm.crm import duplicates
from estatecrm.crm.models import (
    Case,
    Customer,
    DuplicateCandidate,
    DuplicateDismissal,
    DuplicateSettings,
    SharedContactValue,
)
from estatecrm.dedup.scan import scan_company

pytestmark = pytest.mark.django_db


def rows(company):
    return sorted(DuplicateCandidate.objects.for_company(company).values_list("case_a_id", "case_b_id", "rule", "score", "key"))


def flagged(company):
    return set(Case.objects.for_company(company).filter(has_duplicates=True).values_list("pk", flat=True))


def scan(*args) -> str:
    out = StringIO()
    call_command("dedup", "scan", *args, stdout=out)
    return out.getvalue()


def same_birth(*cases, birth=datetime.date(1980, 4, 1)):
    """Give these cases' customers one birth date (their reading is the same: サトウ ハナコ), written directly so
    that only a scan sees it."""
    Customer.objects.for_company(cases[0].company_id).filter(pk__in=[case.customer_id for case in cases]).update(birth_date=birth)


@pytest.fixture
def trio(company, org):
    """a-b share a phone, b-c an e-mail; d shares nothing, e shares a's phone but is in the trash."""
    a = testing.make_case(company, org["SBY"], customer_name="山田 一", phones=(("mobile", "090-1111-2222"),), emails=("a@example.jp",))
    b = testing.make_case(company, org["SBY"], customer_name="山田 二", phones=(("mobile", "09011112222"),), emails=("b@example.jp",))
    c = testing.make_case(company, org["SBY"], customer_name="山田 三", phones=(), emails=("B@Example.jp",))
    d = testing.make_case(company, org["SBY"], customer_name="山田 四", phones=(("mobile", "080-9999-0000"),), emails=("d@example.jp",))
    e = testing.make_case(company, org["SBY"], customer_name="山田 五", phones=(("mobile", "090-1111-2222"),), emails=("e@example.jp",))
    Case.objects.for_company(company).filter(pk=e.pk).update(deleted_at=timezone.now())
    return a, b, c, d, e


def test_the_scan_prints_groups_cases_in_groups_and_pairs(company, trio):
    # given: the candidate rows and flags are lost (data brought in around the writers)
    a, b, c, _d, _e = trio
    DuplicateCandidate.objects.for_company(company).delete()
    Case.objects.for_company(company).update(has_duplicates=False)
    # when
    output = scan("--company", company.code)
    # then
    assert output == "groups: 1\ncases_in_groups: 3\npairs: 2\n"
    assert rows(company) == [(a.pk, b.pk, "phone", 1.0, "+819011112222"), (b.pk, c.pk, "email", 1.0, "b@example.jp")]
    assert flagged(company) == {a.pk, b.pk, c.pk}


def test_json_output_has_exactly_the_three_keys(company, trio):
    # when
    output = scan("--company", company.code, "--json")
    # then
    assert json.loads(output) == {"groups": 1, "cases_in_groups": 3, "pairs": 2}


def test_pairs_file_has_one_line_per_pair_with_its_best_rule(company, org, trio, tmp_path):
    # given: a and f share both a phone and an e-mail (phone first in rule order), g and h only a reading and a birth date
    a, b, c, _d, _e = trio
    f = testing.make_case(company, org["SBY"], customer_name="山田 六", phones=(("mobile", "+81 90 1111 2222"),), emails=("A@example.jp",))
    g = testing.make_case(company, org["SBY"], customer_name="鈴木 一郎", phones=(), emails=("g@example.jp",))
    h = testing.make_case(company, org["SBY"], customer_name="鈴木 一朗", phones=(), emails=("h@example.jp",))
    same_birth(g, h)
    path = tmp_path / "pairs.csv"
    # when
    output = scan("--company", company.code, "--pairs", str(path), "--json")
    # then
    assert json.loads(output) == {"groups": 2, "cases_in_groups": 6, "pairs": 5}
    kana_birth = [row for row in rows(company) if row[2] == "kana_birth"]
    assert [(row[0], row[1]) for row in kana_birth] == [(g.pk, h.pk)]
    assert path.read_text(encoding="utf-8") == (
        "case_id_a,case_id_b,rule,score\n"
        f"{a.pk},{b.pk},phone,1.0\n"
        f"{a.pk},{f.pk},phone,1.0\n"
        f"{b.pk},{c.pk},email,1.0\n"
        f"{b.pk},{f.pk},phone,1.0\n"
        f"{g.pk},{h.pk},kana_birth,{round(kana_birth[0][3], 4)}\n"
    )
    assert 0.9 <= kana_birth[0][3] <= 1.0


def test_rules_exact_scans_phone_and_email_only_and_keeps_the_other_rows(company, org):
    # given: two customers with one reading and birth date, found by a full scan
    g = testing.make_case(company, org["SBY"], customer_name="鈴木 一郎", phones=(), emails=("g@example.jp",))
    h = testing.make_case(company, org["SBY"], customer_name="鈴木 一郎", phones=(), emails=("h@example.jp",))
    same_birth(g, h)
    assert scan("--company", company.code, "--rules", "all") == "groups: 1\ncases_in_groups: 2\npairs: 1\n"
    fuzzy_rows = rows(company)
    assert [row[:3] for row in fuzzy_rows] == [(g.pk, h.pk, "kana_birth")]
    # when: the birth date goes, and only the exact rules are scanned
    same_birth(g, h, birth=None)
    output = scan("--company", company.code, "--rules", "exact")
    # then: nothing exact; the fuzzy row stays until the fuzzy rules are scanned
    assert output == "groups: 0\ncases_in_groups: 0\npairs: 0\n"
    assert rows(company) == fuzzy_rows
    assert flagged(company) == {g.pk, h.pk}
    assert scan("--company", company.code) == "groups: 0\ncases_in_groups: 0\npairs: 0\n"
    assert rows(company) == [] and flagged(company) == set()


def test_a_rule_the_company_turned_off_loses_its_rows(company, org, trio):
    # given
    a, b, _c, _d, _e = trio
    DuplicateSettings.objects.create(company=company, enabled_rules=["phone"])
    # when
    output = scan("--company", company.code, "--rules", "exact")
    # then
    assert output == "groups: 1\ncases_in_groups: 2\npairs: 1\n"
    assert rows(company) == [(a.pk, b.pk, "phone", 1.0, "+819011112222")]


def test_trashed_merged_dismissed_and_shared_give_no_pairs(company, org, trio):
    # given: b's customer merged away (into a's), c dismissed from... nobody left; a new pair dismissed; a shared switchboard
    a, b, c, d, _e = trio
    Customer.objects.for_company(company).filter(pk=b.customer_id).update(deleted_at=timezone.now(), merged_into_id=a.customer_id)
    Case.objects.for_company(company).filter(pk=b.pk).update(deleted_at=timezone.now(), merged_into_id=a.pk)
    x = testing.make_case(company, org["SBY"], customer_name="別 人", phones=(("mobile", "080-9999-0000"),), emails=("x@example.jp",))
    DuplicateDismissal.objects.create(company=company, case_a=d, case_b=x, dismissed_at=timezone.now())
    board = [testing.make_case(company, org["SJK"], customer_name=f"社員 {n}", phones=(("phone", "03-5555-0000"),), emails=(f"s{n}@example.jp",))
             for n in range(3)]
    SharedContactValue.objects.create(company=company, normalized="+81355550000", marking="shared")
    # when
    output = scan("--company", company.code, "--json", "--pairs", "/dev/null")
    # then
    assert json.loads(output) == {"groups": 0, "cases_in_groups": 0, "pairs": 0}
    assert rows(company) == [] and flagged(company) == set()
    # when: an admin says the switchboard is personal after all
    SharedContactValue.objects.for_company(company).update(marking="personal")
    assert json.loads(scan("--company", company.code, "--json")) == {"groups": 1, "cases_in_groups": 3, "pairs": 3}
    assert flagged(company) == {case.pk for case in board}


def test_the_threshold_makes_a_value_shared(company, org):
    # given: 5 customers (the default threshold) share one number, 4 another
    five = [testing.make_case(company, org["SBY"], customer_name=f"客 {n}", phones=(("phone", "03-1234-5678"),), emails=(f"c{n}@example.jp",))
            for n in range(5)]
    four = [testing.make_case(company, org["SBY"], customer_name=f"客 {n}", phones=(("phone", "03-8765-4321"),), emails=(f"d{n}@example.jp",))
            for n in range(4)]
    # when
    output = json.loads(scan("--company", company.code, "--json"))
    # then
    assert output == {"groups": 1, "cases_in_groups": 4, "pairs": 6}
    assert flagged(company) == {case.pk for case in four}
    assert not {case.pk for case in five} & flagged(company)


def test_another_company_is_untouched(company, org, trio):
    # given: another company with its own pair and a stale row the scan of acme must not see
    other = testing.make_company("other")
    unit = testing.make_unit(other, "X")
    p = testing.make_case(other, unit, emails=("same@example.jp",), phones=())
    q = testing.make_case(other, unit, customer_name="佐藤 次郎", emails=("same@example.jp",), phones=())
    with company_scope(other):
        before = rows(other)
    # when
    scan("--company", company.code)
    # then
    with company_scope(other):
        assert rows(other) == before == [(p.pk, q.pk, "email", 1.0, "same@example.jp")]
        assert flagged(other) == {p.pk, q.pk}


def test_an_unknown_company_is_an_error_and_writes_nothing(company, trio):
    # given: stale rows the scan would remove
    DuplicateCandidate.objects.for_company(company).filter(rule="email").delete()
    before = rows(company)
    # when
    with pytest.raises(CommandError, match="Unknown company: nobody"):
        scan("--company", "nobody")
    # then
    assert rows(company) == before


def test_the_task_scans_the_company(company, trio):
    from estatecrm.dedup.tasks import scan_company_task

    DuplicateCandidate.objects.for_company(company).delete()
    result = scan_company_task.enqueue(company.pk, "exact")
    assert result.return_value == {"groups": 1, "cases_in_groups": 3, "pairs": 2}
    assert len(rows(company)) == 2


def test_the_scan_gives_the_rows_of_the_incremental_refresh_over_every_customer(company, org):
    # given: a randomized company: phones and e-mails from small pools (some values reach the threshold), one
    # reading (make_case's) with birth dates, names and addresses from small pools, customers with two cases,
    # trashed cases and customers, markings, a dismissal
    rng = random.Random(12)
    phones = [f"090-1234-{n:04d}" for n in range(14)]
    mails = [f"m{n}@example.jp" for n in range(9)]
    cases = []
    for n in range(26):
        case = testing.make_case(company, org["SBY" if n % 2 else "SJK"], customer_name=f"客 {n}",
                                 phones=[("mobile", rng.choice(phones)) for _ in range(rng.randint(0, 2))],
                                 emails=[rng.choice(mails).upper() if rng.random() < 0.3 else rng.choice(mails) for _ in range(rng.randint(0, 1))])
        cases.append(case)
        postal = rng.choice(["150-0002", "150-0002", "160-0022", ""])
        Customer.objects.for_company(company).filter(pk=case.customer_id).update(
            birth_date=rng.choice([None, datetime.date(1980, 4, 1), datetime.date(1975, 1, 2)]), postal_code=postal,
            prefecture="東京都" if postal else "", city="渋谷区" if postal else "", street=rng.choice(["渋谷1-2-3", "渋谷1丁目2-3", "渋谷2-1-1"]),
            name_key=rng.choice(["佐藤花子", "佐藤花", "佐藤華子", "鈴木一郎"]))
    with company_scope(company):
        for case in rng.sample(cases, 4):
            Case.objects.create(company=company, number=1000 + case.pk, customer_id=case.customer_id, owning_org=org["SBY"])
    Case.objects.for_company(company).filter(pk__in=[case.pk for case in rng.sample(cases, 3)]).update(deleted_at=timezone.now())
    Customer.objects.for_company(company).filter(pk__in=[case.customer_id for case in rng.sample(cases, 2)]).update(deleted_at=timezone.now())
    SharedContactValue.objects.create(company=company, normalized="+819012340001", marking="shared")
    SharedContactValue.objects.create(company=company, normalized="m0@example.jp", marking="personal")
    DuplicateSettings.objects.create(company=company, shared_threshold=4)
    live = sorted(Case.objects.for_company(company).filter(deleted_at__isnull=True).values_list("pk", flat=True))
    DuplicateDismissal.objects.create(company=company, case_a_id=live[0], case_b_id=live[1], dismissed_at=timezone.now())
    customers = list(Customer.objects.for_company(company).values_list("pk", flat=True))
    # when: the incremental refresh over every customer, then the scan from nothing
    with company_scope(company):
        duplicates.refresh_customers(company.pk, customers)
        incremental, incremental_flags = rows(company), flagged(company)
        DuplicateCandidate.objects.for_company(company).delete()
        Case.objects.for_company(company).update(has_duplicates=False)
        scan_company(company, rules="all")
    # then
    assert len(incremental) >= 10 and {row[2] for row in incremental} == {"phone", "email", "kana_birth", "kana_address", "name_postal"}
    assert rows(company) == incremental
    assert flagged(company) == incremental_flags
