"""Every bundle column that lands in a length-limited column, at the limit and one beyond, through a real run
(SQLite and PostgreSQL): at the limit the value is stored whole; beyond it the case fails with the reason
(ids, the customer's name) or the value goes whole to the other information / the activity's body / a safe
attachment name, with a review message. Never cut short, never the whole run. Generated from the
converter's LENGTH_LIMITED table, and every column of FORMAT.md must be in it or declared unlimited here."""

import io
from collections import Counter

import pytest
from django.apps import apps
from django.core.management import call_command

from estatecrm.crm.models import Activity, Attachment, Case
from estatecrm.legacy import bundle as files
from estatecrm.legacy.converter import BODY, FAIL, LENGTH_LIMITED, OTHER_INFO, RENAMED, limit_of
from estatecrm.legacy.models import CaseOutcome
from estatecrm.legacy.reports import reason_label
from estatecrm.legacy.selectors import preflight
from estatecrm.legacy.tests.bundles import case_bundle, case_row, customer_row
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.models import Run
from estatecrm.tenancy.models import OrgUnit, User
from estatecrm.tenancy.selectors import actor_for

pytestmark = pytest.mark.django_db

# Columns that are only looked up, parsed (dates, numbers, choices) or stored in text without a limit.
NOT_LENGTH_LIMITED = {
    files.INFO_FILE: {"項目", "値"},
    files.UNITS_FILE: {"組織コード", "組織名", "親組織コード"},
    files.STAFF_FILE: {"社員コード", "氏名", "メールアドレス", "組織コード", "在籍区分"},
    files.STATUSES_FILE: {"ステータス名", "区分"},
    files.CUSTOMERS_FILE: {"顧客番号", "性別", "生年月日", "郵便番号", "年収", "家族人数", "現在の住居間取り", "登録日時"},
    files.CASES_FILE: {"種別", "追客ステータス", "追客開始日", "ランク", "主担当", "副担当", "タグ", "物件自動紹介メール", "初回反響日",
                       "追客メモ", "最終更新日時"},
    files.CONDITIONS_FILE: {"追客番号", "条件項目", "条件値"},
    files.INTRODUCTIONS_FILE: {"追客番号", "賃料・価格", "紹介日", "紹介方法", "反応"},
    files.ACTIVITIES_FILE: {"追客番号", "活動日時", "活動種別", "社員コード", "内容", "状態"},
    files.ATTACHMENTS_FILE: {"追客番号", "格納パス", "登録日時"},
}


def value_of_length(file: str, column: str, length: int, number: int) -> str:
    if column == "追客番号":
        return "T" + str(number).rjust(length - 1, "0")
    if column == "顧客番号":
        return "C" + str(number).rjust(length - 1, "0")
    if column in ("メールアドレス", "携帯メール"):
        return "a" * length
    if column in ("電話番号", "携帯番号", "FAX"):
        return "0" * length
    if column == "ファイル名":
        return "ア" * (length - 4) + ".pdf"
    return "ア" * length


def test_every_length_limited_bundle_column_is_stored_whole_or_handled_by_its_rule(sample_company, tmp_path):
    # given: every column is classified
    for name, columns in files.COLUMNS.items():
        assert set(columns) == NOT_LENGTH_LIMITED[name] | {column for file, column in LENGTH_LIMITED if file == name}, name
    # given: one case per column at its limit, one beyond it
    cases, customers, introductions, activities, attachments, members, expected = [], [], [], [], [], [], {}
    for (file, column), (_model, _model_column, policy) in LENGTH_LIMITED.items():
        for length in (limit_of(file, column), limit_of(file, column) + 1):
            number = len(cases) + 1
            value = value_of_length(file, column, length, number)
            case = case_row(number)
            customer = customer_row(number)
            if file == files.CASES_FILE:
                case[column] = value
                if column == "顧客番号":
                    customer["顧客番号"] = value
            elif file == files.CUSTOMERS_FILE:
                customer[column] = value
            elif file == files.INTRODUCTIONS_FILE:
                introductions.append({"追客番号": case["追客番号"], "物件番号": "P1", "物件名": "パーク渋谷", "間取り": "1K", column: value})
            elif file == files.ACTIVITIES_FILE:
                activities.append({"追客番号": case["追客番号"], "活動日時": "2026/10/02 10:00", "活動種別": "電話", column: value})
            else:
                member = f"添付/{case['追客番号']}/a.pdf"
                attachments.append({"追客番号": case["追客番号"], "ファイル名": value, "格納パス": member})
                members.append((member, b"%PDF-1.4"))
            cases.append(case)
            customers.append(customer)
            expected[number + 1] = (file, column, length > limit_of(file, column), value, policy)
    path = case_bundle(tmp_path / "bundle.zip", cases, customers, introductions=introductions, activities=activities,
                       attachments=attachments, extra=members)

    # when
    checked = preflight(actor=actor_for(User.objects.get(email="admin@example-fudosan.jp")), path=path,
                        org_unit=OrgUnit.objects.for_company(sample_company).get(code="HQ"))
    call_command("legacy-migrate", "run", str(path), "--company", "k0001", "--org", "HQ", "--as", "admin@example-fudosan.jp",
                 stdout=io.StringIO(), stderr=io.StringIO())

    # then: the run completed, every case has its outcome
    run = Run.objects.for_company(sample_company).get()
    assert run.status == RunStatus.COMPLETED_WITH_FAILURES, run.error_message
    outcomes = {outcome.row_number: outcome for outcome in CaseOutcome.objects.for_company(sample_company).filter(run=run)}
    assert set(outcomes) == set(expected)
    # then: the pre-flight said so beforehand
    failed = Counter(outcome.reason for outcome in outcomes.values() if outcome.outcome == "failed")
    assert checked["not_eligible"] == dict(failed)
    assert sum(checked["eligible"]["full"].values()) == sum(1 for outcome in outcomes.values() if outcome.outcome == "migrated")
    for line, (file, column, is_beyond, value, policy) in expected.items():
        outcome = outcomes[line]
        model, model_column, _policy = LENGTH_LIMITED[(file, column)]
        stored = apps.get_model(model).objects.unscoped().filter(**{model_column: value}).exists()
        where = (file, column, is_beyond)
        if not is_beyond:
            assert (outcome.outcome, outcome.reason, stored) == ("migrated", "", True), where
            continue
        assert not stored, where
        if policy == FAIL:
            assert (outcome.outcome, outcome.reason) == ("failed", f"too_long:{file}:{column}"), where
            assert reason_label(outcome.reason) == f"{file} {column}: longer than {limit_of(file, column)} characters.", where
            continue
        assert outcome.outcome == "migrated", where
        case = Case.objects.unscoped().get(pk=outcome.case_id)
        if policy == OTHER_INFO:
            assert value in case.other_info, where
            assert case.needs_review, where
        elif policy == BODY:
            activity = Activity.objects.unscoped().get(case=case, kind="call")
            assert (activity.subject, activity.body) == ("", f"Subject: {value}"), where
        else:
            assert policy == RENAMED
            attachment = Attachment.objects.unscoped().get(case=case)
            assert len(attachment.original_name) <= limit_of(file, column) and attachment.original_name.endswith(".pdf"), where
            assert value in case.other_info and case.needs_review, where


def test_the_masters_step_creates_no_master_whose_name_is_too_long_and_never_a_shortened_one(sample_company, tmp_path):
    # given: a status, a rank and a tag one character longer than their master's name
    from estatecrm.crm.models import Rank, SubStatus, Tag
    from estatecrm.legacy.tests.bundles import case_members, write_zip

    status, rank, tag = ("ス" * (SubStatus._meta.get_field("name").max_length + 1), "ラ" * (Rank._meta.get_field("name").max_length + 1),
                         "タ" * (Tag._meta.get_field("name").max_length + 1))
    members = case_members([case_row(1, ランク=rank, タグ=f"{tag};新規タグ", 追客ステータス=status)], [customer_row(1)])
    members = [(name, data) if name != files.STATUSES_FILE else
               (name, f"ステータス名,区分\r\n{status},追客中\r\n新規ステータス,追客中\r\n".encode("cp932")) for name, data in members]
    path = write_zip(tmp_path / "bundle.zip", members)
    before = (set(SubStatus.objects.unscoped().values_list("name", flat=True)), set(Rank.objects.unscoped().values_list("name", flat=True)))
    out = io.StringIO()

    # when
    call_command("legacy-migrate", "masters", str(path), "--company", "k0001", "--json", stdout=out, stderr=io.StringIO())

    # then: the others are created, the long ones named and not created at all
    import json

    result = json.loads(out.getvalue())
    assert result["created"] == {"sub_statuses": ["追客中/新規ステータス"], "ranks": [], "tags": ["新規タグ"]}
    assert result["not_created_too_long"] == {"sub_statuses": [status], "ranks": [rank], "tags": [tag]}
    assert set(SubStatus.objects.unscoped().values_list("name", flat=True)) == before[0] | {"新規ステータス"}
    assert set(Rank.objects.unscoped().values_list("name", flat=True)) == before[1]
    assert not Tag.objects.unscoped().filter(name__startswith="タタタ").exists()
