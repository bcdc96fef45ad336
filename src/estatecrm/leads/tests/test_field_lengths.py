"""Every field of the lead import and the do-not-call import, at its column's length and one beyond:
the longer value fails its row with a reason (never the run, on SQLite and PostgreSQL alike), the value at
the length is stored whole. Generated from the importers' field tables, so a new field is covered."""

import csv
import io

import pytest

from estatecrm.crm.models import Case, Contact, ContactPoint, Customer
from estatecrm.leads import actions
from estatecrm.leads.converter import STORED_VALUES
from estatecrm.leads.dnc import DNC_FIELD_COLUMNS, DNC_FIELDS, dnc_field_max_lengths
from estatecrm.leads.fields import DEFAULT_KEYS, FIELD_COLUMNS, column_max_length, field_max_lengths
from estatecrm.leads.models import DoNotCallEntry
from estatecrm.leads.reports import reason_message, write_failed_rows
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.engine import execute_run
from estatecrm.pipeline.models import RowIssue, Run

pytestmark = pytest.mark.django_db

# Values whose stored form is normalized: a longer input is not a valid value at all (its own reason).
NORMALIZED = {"postal_code": "postal_code_invalid", "prefecture": "prefecture_invalid"}
# Values as long as their column that pass the length check but are no valid value of their kind: a phone
# number or e-mail address of 300 characters (at most 254), a prefecture of 10.
INVALID_AT_LIMIT = {"phone": "phone_invalid", "email": "email_invalid", "prefecture": "prefecture_invalid"}


def value_of_length(key: str, length: int, row: int) -> str:
    """A value of exactly `length` characters for the field `key` (distinct per row where it matters)."""
    if key == "phone":
        return f"0901{row:03d}" + "0" * (length - 7)
    if key == "email":
        return "a" * (length - 11) + "@example.jp"
    if key == "homepage":
        return "https://example.jp/" + "a" * (length - 19)
    if key == "contact_kana":
        return "ア" * length
    if key == "postal_code":
        return "150-0002" + "0" * (length - 8)
    if key == "prefecture":
        return "東京都" + "都" * (length - 3)
    return "あ" * (length - 1) + chr(ord("ア") + row)


def normal_row(row: int) -> dict[str, str]:
    return {"lead_name": f"株式会社テスト{row}", "contact_name": f"担当{row}", "phone": f"090-1{row:03d}-5678", "email": f"user{row}@example.jp"}


def test_every_lead_field_fails_its_row_beyond_its_column_length_and_is_stored_whole_at_it(company, admin_actor, project, tmp_path):
    # given: the field table covers every default field that is stored
    # (not stored as typed: the assignee is looked up, dates and kinds are parsed, notes go to a text column without a limit)
    assert set(FIELD_COLUMNS) == set(STORED_VALUES) == set(DEFAULT_KEYS) - {
        "assignee_email", "first_inquiry_date", "birth_date", "note", "case_kind", "customer_kind"}
    limits = field_max_lengths()
    assert limits == {key: column_max_length(*column) for key, column in FIELD_COLUMNS.items()}
    assert limits["lead_name"] == Customer._meta.get_field("name").max_length
    # given: per field, one row at the limit, one beyond it, one normal row after them
    rows, expected = [], {}
    for key, limit in limits.items():
        for length in (limit, limit + 1):
            values = normal_row(len(rows) + 2)
            values[key] = value_of_length(key, length, len(rows) + 2)
            expected[len(rows) + 2] = (key, length, values[key])
            rows.append(values)
    rows.append(normal_row(len(rows) + 2))
    path = tmp_path / "leads.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(limits))
        writer.writeheader()
        writer.writerows(rows)

    # when
    run = actions.do_start_lead_import(actor=admin_actor, path=path, file_name=path.name, project=project, background=False,
                                       mapping={key: key for key in limits})
    execute_run(run.pk)
    run.refresh_from_db()

    # then: the run completed; every row beyond a limit failed with a reason on that field, and only those
    assert run.status == RunStatus.COMPLETED_WITH_FAILURES, run.error_message
    issues = {(issue.row_number, issue.field, issue.code) for issue in RowIssue.objects.for_company(company).filter(run=run, is_failure=True)}
    beyond = {(row, key, NORMALIZED.get(key, "too_long")) for row, (key, length, _value) in expected.items() if length > limits[key]}
    at_limit = {(row, key, INVALID_AT_LIMIT[key]) for row, (key, length, _value) in expected.items()
                if key in INVALID_AT_LIMIT and length == limits[key]}
    assert issues == beyond | at_limit
    # then: a value at the limit is stored whole (the normalized ones are stored as normalized)
    with_scope = Customer.objects.for_company(company)
    for key, length, value in expected.values():
        if length != limits[key] or key in NORMALIZED or key in INVALID_AT_LIMIT:
            continue
        model, column = FIELD_COLUMNS[key][1], FIELD_COLUMNS[key][2]
        stored = {"Customer": with_scope, "Contact": Contact.objects.for_company(company), "Case": Case.objects.for_company(company),
                  "ContactPoint": ContactPoint.objects.for_company(company)}[model].filter(**{column: value})
        assert stored.count() == 1, key
    assert with_scope.filter(name=f"株式会社テスト{len(rows) + 1}").count() == 1
    assert reason_message("too_long", "lead_name") == "Longer than 200 characters."
    # then: the failed-rows file names the column and the limit
    handle = io.BytesIO()
    write_failed_rows(run, handle, encoding="utf-8", language="en")
    reasons = [row[-1] for row in csv.reader(io.StringIO(handle.getvalue().decode("utf-8")))][1:]
    assert "lead_name: Longer than 200 characters." in reasons and "homepage: Longer than 500 characters." in reasons


def test_every_do_not_call_field_fails_its_row_beyond_its_column_length(company, company_admin, tmp_path):
    # given
    from estatecrm.tenancy.selectors import actor_for

    limits = dnc_field_max_lengths()
    assert set(limits) == set(DNC_FIELD_COLUMNS) == {field.key for field in DNC_FIELDS}
    values = {"lead_name": lambda length: "あ" * length, "phone": lambda length: "0" * length, "note": lambda length: "メ" * length}
    rows, expected = [], {}
    for key, limit in limits.items():
        for length in (limit, limit + 1):
            row = {"lead_name": f"禁止{len(rows)}", "phone": "", "note": ""}
            row[key] = values[key](length)
            expected[len(rows) + 2] = (key, length)
            rows.append(row)
    path = tmp_path / "dnc.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(limits))
        writer.writeheader()
        writer.writerows(rows)

    # when
    run = actions.do_start_dnc_import(actor=actor_for(company_admin), path=path, file_name=path.name, workgroups=[],
                                      mapping={key: key for key in limits}, background=False)
    execute_run(run.pk)
    run.refresh_from_db()

    # then
    assert run.status == RunStatus.COMPLETED_WITH_FAILURES, run.error_message
    issues = {(issue.row_number, issue.field, issue.code, issue.params.get("max_length"))
              for issue in RowIssue.objects.for_company(company).filter(run=run)}
    beyond = {(row, key, "too_long", limits[key]) for row, (key, length) in expected.items() if length > limits[key]}
    phone_at_limit = {(row, "phone", "phone_invalid", None) for row, (key, length) in expected.items() if key == "phone" and length == limits[key]}
    assert issues == beyond | phone_at_limit
    entries = DoNotCallEntry.objects.for_company(company)
    assert entries.filter(name="あ" * limits["lead_name"]).count() == 1
    assert entries.filter(note="メ" * limits["note"]).count() == 1
    assert entries.count() == len(rows) - len(beyond) - len(phone_at_limit)


@pytest.mark.parametrize("importer", ["leads", "do_not_call"])
def test_a_file_with_two_columns_of_the_mapped_header_is_refused_and_nothing_written(company, admin_actor, project, tmp_path, importer):
    # given: 電話番号 twice; which one holds the phone is ambiguous
    from estatecrm.core.errors import ApplicationError

    path = tmp_path / "leads.csv"
    path.write_text("会社名,担当者,電話番号,電話番号\r\n株式会社A,田中,090-1111-2222,03-1234-5678\r\n", encoding="utf-8")
    # when
    with pytest.raises(ApplicationError) as refused:
        if importer == "leads":
            actions.do_start_lead_import(actor=admin_actor, path=path, file_name=path.name, project=project, background=False)
        else:
            actions.do_start_dnc_import(actor=admin_actor, path=path, file_name=path.name, background=False,
                                        mapping={"lead_name": "会社名", "phone": "電話番号"})
    # then
    assert refused.value.fields == {"phone": ["The file has several columns with this header: rename them so that it is clear which one "
                                              "to import."]}
    assert Run.objects.unscoped().count() == 0
