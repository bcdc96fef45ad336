"""Lists of people: the kinds each import creates (never guessed from a name), leads named after their
contacts, columns kept as notes, in default fields or in new custom fields, weak and strong duplicates."""

import datetime

import pytest

from estatecrm.core.errors import ApplicationError, PermissionDenied
from estatecrm.core.scope import company_scope
from estatecrm.core.testing import make_case, make_user
from estatecrm.crm.actions import do_upsert_project
from estatecrm.crm.filtersets import CaseFilters, filter_cases
from estatecrm.crm.models import Case, Customer, CustomField, ProjectField
from estatecrm.leads import actions
from estatecrm.leads.converter import convert_row
from estatecrm.leads.fields import lead_fields
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.engine import execute_run
from estatecrm.pipeline.mapping import column_indexes, suggest_mapping
from estatecrm.pipeline.models import RowIssue
from estatecrm.tenancy.choices import Role
from estatecrm.tenancy.selectors import actor_for

PEOPLE_HEADER = ("氏名", "フリガナ", "電話番号")
PEOPLE = [("渡邊 髙志", "ﾜﾀﾅﾍﾞ ﾀｶｼ", "090-1234-5678"), ("佐藤 花子", "さとう はなこ", "０８０－２２２２－３３３３"),
          ("髙﨑 一郎", "タカサキ イチロウ", "03-1234-5678")]


def convert(header, cells, mapping=None):
    mapping = mapping if mapping is not None else suggest_mapping(header, lead_fields())
    return convert_row(2, tuple(cells), column_indexes(mapping, header), {}, "JP", header)


# -- the converter (pure) ---------------------------------------------------------------------


def test_a_person_list_is_suggested_without_a_lead_name_and_each_lead_is_named_after_its_contact():
    # when
    mapping = suggest_mapping(PEOPLE_HEADER, lead_fields())
    lead = convert(PEOPLE_HEADER, PEOPLE[0], mapping)
    # then
    assert mapping == {"contact_name": "氏名", "contact_kana": "フリガナ", "phone": "電話番号"}
    assert (lead.lead_name, lead.lead_key, lead.contact_name, lead.contact_kana, lead.phone) == (
        "渡邊 髙志", "渡辺高志", "渡邊 髙志", "ワタナベ タカシ", "+819012345678")
    assert lead.errors == []


def test_the_converter_guesses_no_kind_from_the_name():
    # when: names that once made a company (渡邊 髙志) or a household (田中家)
    leads = [convert(("リード名", "氏名", "電話番号"), (name, "担当", "090-1234-5678")) for name in ("渡邊 髙志", "田中家", "株式会社ABC")]
    # then: the row says nothing, so the import's kinds apply
    assert [(lead.case_kind, lead.customer_kind) for lead in leads] == [("", "")] * 3


def test_a_kind_column_wins_per_row_and_an_unknown_kind_fails_the_row():
    header = ("氏名", "電話番号", "案件種別", "顧客種別")
    # when
    buy_company = convert(header, ("山田 太郎", "090-1234-5678", "売買", "法人"))
    rent_person = convert(header, ("山田 太郎", "090-1234-5678", "ＲＥＮＴ", "個人"))
    empty = convert(header, ("山田 太郎", "090-1234-5678", "", ""))
    unknown = convert(header, ("山田 太郎", "090-1234-5678", "倉庫", "団体"))
    # then
    assert (buy_company.case_kind, buy_company.customer_kind) == ("buy", "company")
    assert (rent_person.case_kind, rent_person.customer_kind) == ("rent", "person")
    assert (empty.case_kind, empty.customer_kind, empty.errors) == ("", "", [])
    assert unknown.errors == [("case_kind", "case_kind_invalid"), ("customer_kind", "customer_kind_invalid")]


def test_dates_in_japanese_formats_and_notes_labelled_with_their_column():
    header = ("氏名", "電話番号", "反響日", "生年月日", "反響媒体", "問合せ内容", "備考")
    mapping = {"contact_name": "氏名", "phone": "電話番号", "first_inquiry_date": "反響日", "birth_date": "生年月日",
               "first_inquiry_source": "反響媒体", "note": "備考", "note:問合せ内容": "問合せ内容"}
    # when
    lead = convert(header, ("山田 太郎", "090-1234-5678", "令和6年4月1日", "S60.1.1", "SUUMO", "2LDK希望", "夜に電話"), mapping)
    serial = convert(header, ("山田 太郎", "090-1234-5678", 45383, "", "", "", ""), mapping)
    bad = convert(header, ("山田 太郎", "090-1234-5678", "H31.5.1", "昨日", "", "", ""), mapping)
    # then
    assert (lead.first_inquiry_date, lead.birth_date, lead.first_inquiry_source) == (
        datetime.date(2024, 4, 1), datetime.date(1985, 1, 1), "SUUMO")
    assert lead.note.splitlines() == ["備考: 夜に電話", "問合せ内容: 2LDK希望"]
    assert (serial.first_inquiry_date, serial.birth_date, serial.note) == (datetime.date(2024, 4, 1), None, "")
    assert bad.errors == [("first_inquiry_date", "date_invalid"), ("birth_date", "date_invalid")]


def test_a_mapped_lead_name_column_that_is_empty_still_fails_its_row():
    lead = convert(("リード名", "氏名", "電話番号"), ("", "山田 太郎", "090-1234-5678"))
    assert lead.errors == [("lead_name", "lead_name_missing")]


# -- the import (database) --------------------------------------------------------------------


def people_file(tmp_path, encoding, rows=PEOPLE, header=PEOPLE_HEADER, name="people.csv"):
    path = tmp_path / name
    text = "\r\n".join(",".join(row) for row in [header, *rows]) + "\r\n"
    path.write_bytes(text.encode(encoding))
    return path


def run_import(actor, path, project, **options):
    run = actions.do_start_lead_import(actor=actor, path=path, file_name=path.name, project=project, background=False, **options)
    execute_run(run.pk)
    run.refresh_from_db()
    return run


@pytest.mark.django_db
@pytest.mark.parametrize("encoding", ["cp932", "utf-8-sig", "utf-8"])
def test_the_suggested_mapping_of_a_person_list_imports_every_row_with_the_projects_kinds(company, admin_actor, tmp_path, encoding):
    # given: a project whose imports create 賃貸 cases of persons (the defaults)
    project, _ = do_upsert_project(company=company, name="来店リスト")
    # when: no mapping given
    run = run_import(admin_actor, people_file(tmp_path, encoding), project)
    # then
    assert run.status == RunStatus.COMPLETED, run.error_message
    assert (run.counts["leads_created"], run.counts.get("failed", 0)) == (3, 0)
    assert (run.params["case_kind"], run.params["customer_kind"]) == ("rent", "person")
    with company_scope(company):
        customers = {customer.name: (customer.kind, customer.kana) for customer in Customer.objects.all()}
        assert customers == {"渡邊 髙志": ("person", "ワタナベ タカシ"), "佐藤 花子": ("person", "サトウ ハナコ"),
                             "髙﨑 一郎": ("person", "タカサキ イチロウ")}
        # found by reading on the case list, like a customer entered by hand
        found = filter_cases(actor=admin_actor, filters=CaseFilters.from_query({"q": "わたなべ"}))
        assert list(found.values_list("customer__name", flat=True)) == ["渡邊 髙志"]
        assert set(Case.objects.values_list("kind", flat=True)) == {"rent"}


@pytest.mark.django_db
def test_the_import_creates_the_kinds_it_says_and_the_project_default_applies_otherwise(company, admin_actor, tmp_path):
    # given: a project of 売買 companies
    project, _ = do_upsert_project(company=company, name="法人リスト", case_kind="buy", customer_kind="company")
    # when: one import takes the project's kinds, another says its own
    default = run_import(admin_actor, people_file(tmp_path, "cp932", rows=PEOPLE[:1], name="a.csv"), project)
    chosen = run_import(admin_actor, people_file(tmp_path, "cp932", rows=PEOPLE[1:2], name="b.csv"), project,
                        case_kind="rent", customer_kind="person")
    # then
    with company_scope(company):
        assert (Case.objects.get(source_id=f"{default.pk}:2").kind, Customer.objects.get(name="渡邊 髙志").kind) == ("buy", "company")
        assert (Case.objects.get(source_id=f"{chosen.pk}:2").kind, Customer.objects.get(name="佐藤 花子").kind) == ("rent", "person")


@pytest.mark.django_db
def test_an_unknown_kind_is_refused_and_nothing_is_written(company, admin_actor, tmp_path):
    project, _ = do_upsert_project(company=company, name="来店リスト")
    with pytest.raises(ApplicationError) as refused:
        actions.do_start_lead_import(actor=admin_actor, path=people_file(tmp_path, "utf-8"), file_name="people.csv", project=project,
                                     background=False, case_kind="lease")
    assert refused.value.fields == {"case_kind": ["The case kind must be rent or buy."]}
    assert Customer.objects.for_company(company).count() == 0


@pytest.mark.django_db
def test_columns_kept_in_default_fields_notes_and_a_new_custom_field(company, admin_actor, tmp_path):
    # given
    project, _ = do_upsert_project(company=company, name="来店リスト")
    header = ("氏名", "電話番号", "反響日", "反響媒体", "生年月日", "問合せ内容", "職業")
    path = tmp_path / "people.csv"
    path.write_bytes(("\r\n".join([",".join(header), '山田 太郎,090-1234-5678,R6.4.1,SUUMO,平成2年3月4日,"ペット可, 駅近",会社員']) + "\r\n")
                     .encode("cp932"))
    mapping = {"contact_name": "氏名", "phone": "電話番号", "first_inquiry_date": "反響日", "first_inquiry_source": "反響媒体",
               "birth_date": "生年月日", "note:問合せ内容": "問合せ内容", "new_custom:職業": "職業"}
    # when
    run = run_import(admin_actor, path, project, mapping=mapping)
    # then: every value is kept
    assert run.status == RunStatus.COMPLETED, run.error_message
    assert run.params["mapping"]["custom:職業"] == "職業" and "new_custom:職業" not in run.params["mapping"]
    with company_scope(company):
        case = Case.objects.select_related("customer").get()
        assert (case.first_inquiry_date, case.first_inquiry_source, case.other_info) == (datetime.date(2024, 4, 1), "SUUMO", "問合せ内容: ペット可, 駅近")
        assert (case.customer.birth_date, case.customer.custom_values) == (datetime.date(1990, 3, 4), {"職業": "会社員"})
        field = CustomField.objects.get(name="職業")
        assert (field.field_type, list(ProjectField.objects.filter(project=project).values_list("custom_field", flat=True))) == ("text", [field.pk])


@pytest.mark.django_db
def test_an_org_admin_cannot_create_a_custom_field_through_an_import(company, org, tmp_path):
    # given: an admin of a unit below the root (imports allowed, company masters not)
    org_admin = actor_for(make_user(company, org["TKY"], role=Role.ADMIN, email="tky-admin@acme.example.jp"))
    project, _ = do_upsert_project(company=company, name="来店リスト")
    path = people_file(tmp_path, "utf-8", header=("氏名", "電話番号", "職業"), rows=[("山田 太郎", "090-1234-5678", "会社員")])
    # when / then: refused, nothing created
    with pytest.raises(PermissionDenied):
        actions.do_start_lead_import(actor=org_admin, path=path, file_name=path.name, project=project, background=False,
                                     mapping={"contact_name": "氏名", "phone": "電話番号", "new_custom:職業": "職業"})
    assert CustomField.objects.for_company(company).filter(name="職業").count() == 0


@pytest.mark.django_db
def test_a_same_name_with_another_phone_is_a_weak_match_and_the_same_phone_a_strong_one(company, org, admin_actor, tmp_path):
    # given: existing customers 渡邊 髙志 (another phone) and 佐藤 花子 (the same phone)
    make_case(company, org["HQ"], customer_name="渡辺 高志", phones=(("mobile", "090-9999-0000"),))
    make_case(company, org["HQ"], customer_name="佐藤 花子", phones=(("mobile", "080-2222-3333"),))
    project, _ = do_upsert_project(company=company, name="来店リスト")
    # when
    run = run_import(admin_actor, people_file(tmp_path, "cp932"), project)
    # then
    assert {key: value for key, value in run.counts.items() if key.startswith("duplicate")} == {
        "duplicates:name": 2, "duplicate_matches:weak": 1, "duplicate_matches:strong": 1}
    flagged = dict(RowIssue.objects.for_company(company).filter(run=run, is_failure=False).values_list("row_number", "params__match"))
    assert flagged == {2: "weak", 3: "strong"}


@pytest.mark.django_db
def test_the_case_list_filters_the_cases_of_one_import_and_of_one_project(company, org, company_admin, admin_actor, tmp_path):
    # given: two imports into one project
    project, _ = do_upsert_project(company=company, name="来店リスト")
    first = run_import(admin_actor, people_file(tmp_path, "utf-8", rows=PEOPLE[:2], name="a.csv"), project)
    run_import(admin_actor, people_file(tmp_path, "utf-8", rows=PEOPLE[2:], name="b.csv"), project)
    # when
    of_run = filter_cases(actor=admin_actor, filters=CaseFilters.from_query({"run": str(first.pk)}))
    of_project = filter_cases(actor=admin_actor, filters=CaseFilters.from_query({"project": str(project.pk)}))
    # then
    assert sorted(of_run.values_list("customer__name", flat=True)) == ["佐藤 花子", "渡邊 髙志"]
    assert of_project.count() == 3
    assert CaseFilters.from_query({"run": "x"}).errors == {"run": "Choose a valid option."}


@pytest.mark.django_db
def test_overwriting_an_existing_lead_sets_its_birth_date_and_a_revert_takes_it_back(company, org, admin_actor, tmp_path):
    # given: an existing 佐藤 花子 without a birth date
    existing = make_case(company, org["HQ"], customer_name="佐藤 花子", phones=(("mobile", "080-2222-3333"),))
    project, _ = do_upsert_project(company=company, name="来店リスト")
    path = people_file(tmp_path, "cp932", header=("氏名", "電話番号", "生年月日"), rows=[("佐藤 花子", "080-2222-3333", "S60.1.1")])
    # when
    run = run_import(admin_actor, path, project, on_duplicate="overwrite")
    # then
    assert run.counts["updated"] == 1
    customer = Customer.objects.for_company(company).get(pk=existing.customer_id)
    assert customer.birth_date == datetime.date(1985, 1, 1)
    # when: reverted
    actions.do_revert_lead_import(actor=admin_actor, run=run, force=True)
    # then
    customer.refresh_from_db()
    assert customer.birth_date is None
