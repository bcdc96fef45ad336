"""Lead import end to end through the pipeline: grouping, validation, duplicates, revert."""

import pytest
from django.db import transaction

from estatecrm.core.errors import ApplicationError, PermissionDenied
from estatecrm.core.scope import company_scope
from estatecrm.crm.models import Case, Contact, ContactPoint, Customer
from estatecrm.leads import actions
from estatecrm.leads.selectors import created_leads
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.engine import execute_run
from estatecrm.pipeline.models import LedgerEntry, RowIssue
from estatecrm.tenancy.selectors import actor_for

pytestmark = pytest.mark.django_db

ROWS = [
    ("株式会社ABC", "本社", "03-1234-5678", "info@abc.example.jp", "3"),
    ("株式会社ABC", "営業部長 田中様", "090-1111-2222", "", ""),
    ("田中家", "田中 一郎", "０８０－３３３３－４４４４", "ICHIRO＠EXAMPLE.JP", "1"),
    ("", "名無し", "090-5555-6666", "", ""),
    ("佐藤家", "佐藤 花子", "123", "bad-address", "三"),
]


def run_import(actor, path, project, **options):
    run = actions.do_start_lead_import(actor=actor, path=path, file_name=path.name, project=project, background=False, **options)
    execute_run(run.pk)
    run.refresh_from_db()
    return run


def test_rows_with_the_same_lead_name_become_one_lead_with_contacts(company, admin_actor, project, write_csv):
    # when: the import says what it creates (a name such as 田中家 decides nothing)
    run = run_import(admin_actor, write_csv(ROWS), project, case_kind="buy", customer_kind="company")
    # then
    assert run.status == RunStatus.COMPLETED_WITH_FAILURES
    assert {key: value for key, value in run.counts.items() if not key.startswith("duplicates")} == {
        "rows": 5, "leads_created": 2, "contacts_created": 3, "contacts_added_to_leads": 1, "failed": 2,
        "failed_by_reason:lead_name_missing": 1, "failed_by_reason:phone_invalid": 1, "failed_by_reason:email_invalid": 1,
        "failed_by_reason:custom_value_invalid": 1,
    }
    with company_scope(company):
        abc = Customer.objects.get(name="株式会社ABC")
        assert (abc.kind, abc.custom_values) == ("company", {"所有物件数": 3})
        assert list(abc.contacts.values_list("name", flat=True)) == ["本社", "営業部長 田中様"]
        assert sorted(ContactPoint.objects.filter(customer=abc).values_list("normalized", flat=True)) == [
            "+81312345678", "+819011112222", "info@abc.example.jp"]
        tanaka = Customer.objects.get(name="田中家")
        assert tanaka.kind == "company"
        assert sorted(ContactPoint.objects.filter(customer=tanaka).values_list("normalized", flat=True)) == ["+818033334444", "ichiro@example.jp"]
        cases = Case.objects.filter(project=project)
        assert cases.count() == 2
        assert set(cases.values_list("origin", "main_assignee_id", "status", "kind")) == {("lead_import", admin_actor.user.pk, "新規", "buy")}
    issues = list(RowIssue.objects.for_company(company).filter(run=run).values_list("row_number", "field", "code"))
    assert issues == [(5, "lead_name", "lead_name_missing"), (6, "phone", "phone_invalid"), (6, "email", "email_invalid"),
                      (6, "custom:所有物件数", "custom_value_invalid")]
    # every row accounted for once: the two leads created by their cases (which carry the run and the row), the
    # contact added and the two failed rows by the ledger
    created = sorted(created_leads(company.pk, run.pk, 0, 6))
    assert [(row, customer_id) for row, _case, customer_id in created] == [(2, abc.pk), (4, tanaka.pk)]
    assert sorted(LedgerEntry.objects.for_company(company).filter(run=run).values_list("row_number", "outcome")) == [
        (3, "updated"), (5, "failed"), (6, "failed")]


@pytest.mark.parametrize(
    ("policy", "expected_customers", "counts"),
    [("add", 3, {"leads_created": 2, "duplicates:name": 1}),
     ("skip", 2, {"leads_created": 1, "skipped_duplicates": 1, "duplicates:name": 1}),
     ("overwrite", 2, {"leads_created": 1, "updated": 1, "duplicates:name": 1})],
)
def test_duplicate_policy_against_existing_leads(company, admin_actor, project, write_csv, policy, expected_customers, counts):
    # given: an existing lead typed differently (legal form and width)
    run_import(admin_actor, write_csv([("㈱ＡＢＣ", "本社", "03-1234-5678", "", "")], name="first.csv"), project)
    # when
    path = write_csv([("株式会社 ABC", "総務部", "03-9999-0000", "soumu@abc.example.jp", "5"), ("新規商事", "受付", "03-2222-3333", "", "")])
    run = run_import(admin_actor, path, project, duplicate_keys=["name"], on_duplicate=policy)
    # then
    assert {key: run.counts.get(key, 0) for key in counts} == counts
    with company_scope(company):
        assert Customer.objects.count() == expected_customers
        if policy == "overwrite":
            abc = Customer.objects.get(name="(株)ABC")
            assert abc.custom_values == {"所有物件数": 5}
            assert list(abc.contacts.values_list("name", flat=True)) == ["本社", "総務部"]


def test_duplicate_by_phone_within_the_file(company, admin_actor, project, write_csv):
    path = write_csv([("A商事", "受付", "03-1234-5678", "", ""), ("B商事", "受付", "03(1234)5678", "", "")])
    run = run_import(admin_actor, path, project, duplicate_keys=["phone"], on_duplicate="skip")
    assert (run.counts["leads_created"], run.counts["skipped_duplicates"], run.counts["duplicates:phone_in_file"]) == (1, 1, 1)


def test_row_decisions_override_the_policy(company, admin_actor, project, write_csv):
    run_import(admin_actor, write_csv([("A商事", "受付", "03-1234-5678", "", "")], name="first.csv"), project)
    path = write_csv([("A商事", "総務", "03-1111-1111", "", ""), ("A商事", "経理", "03-2222-2222", "", "")])
    run = run_import(admin_actor, path, project, duplicate_keys=["name"], on_duplicate="skip", decisions={3: "add"})
    assert (run.counts["skipped_duplicates"], run.counts["leads_created"]) == (1, 1)


def test_missing_required_mapping_is_refused_and_writes_nothing(company, admin_actor, project, write_csv):
    path = write_csv([("A", "B", "03-1234-5678")], header=("会社名", "担当者", "メモ"))
    with pytest.raises(ApplicationError) as raised, transaction.atomic():
        actions.do_start_lead_import(actor=admin_actor, path=path, file_name="x.csv", project=project, background=False)
    assert raised.value.code == "mapping_invalid"
    assert raised.value.fields == {"phone": ["This field is required: choose the column that holds it."]}
    with company_scope(company):
        assert Customer.objects.count() == 0


def test_agents_cannot_import(company, agent, project, write_csv):
    with pytest.raises(PermissionDenied):
        actions.do_start_lead_import(actor=actor_for(agent), path=write_csv(ROWS), file_name="x.csv", project=project)


def test_dry_run_counts_and_writes_nothing(company, admin_actor, project, write_csv):
    counts = actions.do_dry_run_lead_import(actor=admin_actor, path=write_csv(ROWS), file_name="leads.csv", project=project)
    assert (counts["leads_created"], counts["contacts_created"], counts["failed"]) == (2, 3, 2)
    with company_scope(company):
        assert (Customer.objects.count(), Contact.objects.count()) == (0, 0)


def test_revert_trashes_created_leads_and_restores_overwritten_values(company, admin_actor, project, write_csv):
    # given
    run_import(admin_actor, write_csv([("A商事", "受付", "03-1234-5678", "", "1")], name="first.csv"), project)
    run = run_import(admin_actor, write_csv([("A商事", "総務", "03-1111-1111", "", "9"), ("B商事", "受付", "03-2222-3333", "", "")]),
                     project, duplicate_keys=["name"], on_duplicate="overwrite")
    # when
    counts = actions.do_revert_lead_import(actor=admin_actor, run=run)
    # then
    assert (counts["leads_trashed"], counts["leads_restored"]) == (1, 1)
    with company_scope(company):
        a = Customer.objects.get(name="A商事")
        assert (a.custom_values, list(a.contacts.values_list("name", flat=True))) == ({"所有物件数": 1}, ["受付"])
        assert Customer.objects.get(name="B商事").deleted_at is not None
    run.refresh_from_db()
    assert run.status == RunStatus.REVERTED


def test_revert_is_refused_for_leads_edited_since_unless_forced(company, admin_actor, project, write_csv):
    run = run_import(admin_actor, write_csv([("A商事", "受付", "03-1234-5678", "", "")]), project)
    with company_scope(company):
        customer = Customer.objects.get(name="A商事")
    from django.utils import timezone

    Customer.objects.for_company(company).filter(pk=customer.pk).update(updated_at=timezone.now() + timezone.timedelta(seconds=5))
    with pytest.raises(ApplicationError) as raised:
        actions.do_revert_lead_import(actor=admin_actor, run=run)
    assert raised.value.code == "edited_since"
    assert Customer.objects.for_company(company).get(pk=customer.pk).deleted_at is None
    actions.do_revert_lead_import(actor=admin_actor, run=run, force=True)
    assert Customer.objects.for_company(company).get(pk=customer.pk).deleted_at is not None


@pytest.mark.django_db(transaction=True)
def test_the_reading_process_looks_up_duplicates_when_the_data_is_committed(company, admin_actor, project, write_csv):
    # given: committed leads (outside a test transaction the reading process looks them up itself),
    # one of them in the trash
    run_import(admin_actor, write_csv([("㈱ＡＢＣ", "本社", "03-1234-5678", "", ""), ("ゴミ箱商事", "受付", "03-5555-0000", "", ""),
                                       ("C物産", "受付", "03-7777-0000", "", "")], name="first.csv"), project)
    with company_scope(company):
        Customer.objects.filter(name="ゴミ箱商事").update(deleted_at="2026-01-01T00:00:00Z")
    # when: a file with a name duplicate, a phone duplicate, a duplicate of the trashed lead, and rows of its own
    path = write_csv([("株式会社 ABC", "総務部", "03-9999-0000", "", ""), ("別名商事", "受付", "03-7777-0000", "", ""),
                      ("ゴミ箱商事", "受付", "03-5555-0000", "", ""), ("新規商事", "受付", "03-2222-3333", "", ""),
                      ("新規商事", "経理", "03-2222-4444", "", "")])
    run = run_import(admin_actor, path, project, duplicate_keys=["name", "phone"], on_duplicate="skip")
    # then
    assert {key: run.counts.get(key, 0) for key in ("duplicates:name", "duplicates:phone", "skipped_duplicates", "leads_created",
                                                    "contacts_created")} == {
        "duplicates:name": 1, "duplicates:phone": 1, "skipped_duplicates": 2, "leads_created": 2, "contacts_created": 3}
    with company_scope(company):
        abc = Customer.objects.get(name="(株)ABC")
        skipped = dict(LedgerEntry.objects.filter(run=run, outcome="skipped").values_list("row_number", "target_id"))
        assert skipped == {2: abc.pk, 3: Customer.objects.get(name="C物産").pk}
