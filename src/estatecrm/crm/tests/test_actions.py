"""Customer and case actions: what they write, what they refuse (writing nothing), and their audit."""

import datetime

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from estatecrm.audit.models import AuditEvent
from estatecrm.core import testing
from estatecrm.core.errors import ApplicationError
from estatecrm.core.scope import company_scope
from estatecrm.crm import actions, error_codes
from estatecrm.crm.choices import CaseStatus, CustomFieldType
from estatecrm.crm.models import Case, CaseAssignee, CaseTag, ContactPoint, Customer, Tag

pytestmark = pytest.mark.django_db


def make_tags(company, count):
    return [actions.do_upsert_tag(company=company, name=f"タグ{i}", position=i)[0] for i in range(count)]


def case_count(company):
    return Case.objects.for_company(company).count()


def test_create_customer_keeps_raw_and_stores_normalized_contact_points(company, company_admin):
    # given
    data = actions.CustomerInput(
        name="髙橋　一郎", kana="ﾀｶﾊｼ ｲﾁﾛｳ",
        contacts=[actions.ContactInput(name="髙橋　一郎", phones=[("mobile", "０９０－１２３４－５６７８"), ("phone", "123")],
                                       emails=["Ichiro.TAKAHASHI＠Example.JP"])],
    )
    # when
    customer = actions.do_create_customer(company=company, data=data, acting_user=company_admin)
    # then
    assert (customer.name, customer.kana, customer.name_key, customer.kana_key) == ("髙橋 一郎", "タカハシ イチロウ", "高橋一郎", "タカハシイチロウ")
    points = list(ContactPoint.objects.for_company(company).filter(customer=customer).values_list("kind", "raw", "normalized", "invalid_reason"))
    assert points == [
        ("mobile", "０９０－１２３４－５６７８", "+819012345678", ""),
        ("phone", "123", "", "too_short"),
        ("email", "Ichiro.TAKAHASHI＠Example.JP", "ichiro.takahashi@example.jp", ""),
    ]
    event = AuditEvent.objects.for_company(company).get(object_type="crm.customer", object_id=str(customer.pk))
    assert (event.verb, event.actor_id, event.after["name"]) == ("create", company_admin.pk, "髙橋 一郎")


def test_company_customer_key_folds_legal_form(company):
    first = actions.do_create_customer(company=company, data=actions.CustomerInput(name="株式会社ＡＢＣ", kind="company"), acting_user=None)
    second = actions.do_create_customer(company=company, data=actions.CustomerInput(name="㈱ABC", kind="company"), acting_user=None)
    assert first.name_key == second.name_key


def test_create_case_with_tags_assignees_and_desired_conditions(company, org, agent, company_admin):
    # given
    tags = make_tags(company, 3)
    subs = [testing.make_user(company, org["SBY"]) for _ in range(2)]
    # when
    case = testing.make_case(company, org["SBY"], main_assignee=agent, sub_assignees=subs, tags=list(reversed(tags)),
                             desired={"rent_max": 12, "walk_minutes": 10, "layouts": ["1LDK", "2DK"]}, acting_user=company_admin)
    # then
    with company_scope(company):
        assert [link.tag.name for link in case.tag_links.all()] == ["タグ2", "タグ1", "タグ0"]
        assert [link.user_id for link in case.assignee_links.all()] == [user.pk for user in subs]
        assert (case.desired.rent_max, case.desired.walk_minutes, case.desired.layouts) == (12, 10, ["1LDK", "2DK"])
    assert AuditEvent.objects.for_company(company).filter(object_type="crm.case", object_id=str(case.pk), verb="create").count() == 1


def test_create_case_refuses_eleven_tags_and_writes_nothing(company, org, agent):
    # given
    tags = make_tags(company, 11)
    before = (case_count(company), Customer.objects.for_company(company).count())
    # when
    with pytest.raises(ApplicationError) as raised, transaction.atomic():
        testing.make_case(company, org["SBY"], main_assignee=agent, tags=tags)
    # then
    assert raised.value.code == error_codes.TOO_MANY_TAGS
    assert (case_count(company), Customer.objects.for_company(company).count()) == before


def test_create_case_refuses_twenty_sub_assignees(company, org, agent):
    subs = [testing.make_user(company, org["SBY"]) for _ in range(20)]
    with pytest.raises(ApplicationError) as raised, transaction.atomic():
        testing.make_case(company, org["SBY"], main_assignee=agent, sub_assignees=subs)
    assert raised.value.code == error_codes.TOO_MANY_SUB_ASSIGNEES
    assert case_count(company) == 0


def test_nineteen_sub_assignees_and_ten_tags_are_accepted(company, org, agent):
    subs = [testing.make_user(company, org["SBY"]) for _ in range(19)]
    case = testing.make_case(company, org["SBY"], main_assignee=agent, sub_assignees=subs, tags=make_tags(company, 10))
    assert CaseAssignee.objects.for_company(company).filter(case=case).count() == 19
    assert CaseTag.objects.for_company(company).filter(case=case).count() == 10


def test_database_refuses_an_eleventh_tag_position(company, org, agent):
    # given: the database is the last line of defence when code bypasses the actions
    case = testing.make_case(company, org["SBY"], main_assignee=agent)
    tag = make_tags(company, 1)[0]
    # when / then
    with pytest.raises(IntegrityError), transaction.atomic():
        CaseTag.objects.create(company=company, case=case, tag=tag, position=10)


def test_database_refuses_a_twentieth_sub_assignee_position(company, org, agent):
    case = testing.make_case(company, org["SBY"])
    with pytest.raises(IntegrityError), transaction.atomic():
        CaseAssignee.objects.create(company=company, case=case, user=agent, position=19)


def test_sub_assignee_of_another_company_is_refused(company, org, agent, other_company):
    with pytest.raises(ApplicationError) as raised, transaction.atomic():
        testing.make_case(company, org["SBY"], main_assignee=agent, sub_assignees=[other_company["admin"]])
    assert raised.value.code == error_codes.ASSIGNEE_OF_OTHER_COMPANY


def test_sub_status_must_belong_to_the_status(company, org, agent):
    sub_status, _ = actions.do_upsert_sub_status(company=company, status=CaseStatus.APPLYING, name="審査中")
    with pytest.raises(ApplicationError) as raised, transaction.atomic():
        testing.make_case(company, org["SBY"], status=CaseStatus.FOLLOWING, sub_status=sub_status)
    assert raised.value.code == error_codes.SUB_STATUS_MISMATCH
    assert raised.value.fields == {"sub_status": ["Choose a sub-status of the selected status."]}


def test_update_case_audits_old_and_new_values_and_skips_no_change(company, org, agent, company_admin):
    # given
    case = testing.make_case(company, org["SBY"], main_assignee=agent)
    events_before = AuditEvent.objects.for_company(company).count()
    # when
    changed = actions.do_update_case(case=case, changes={"status": CaseStatus.APPLYING, "other_info": "メモ"}, acting_user=company_admin)
    unchanged = actions.do_update_case(case=case, changes={"status": CaseStatus.APPLYING}, acting_user=company_admin)
    # then
    assert (changed, unchanged) == (True, False)
    event = AuditEvent.objects.for_company(company).order_by("-pk").first()
    assert event.before == {"status": "追客中", "other_info": ""}
    assert event.after == {"status": "申込中", "other_info": "メモ"}
    assert AuditEvent.objects.for_company(company).count() == events_before + 1


def test_changing_status_drops_a_sub_status_of_the_old_status(company, org, agent):
    sub_status, _ = actions.do_upsert_sub_status(company=company, status=CaseStatus.FOLLOWING, name="内見調整中")
    case = testing.make_case(company, org["SBY"], sub_status=sub_status)
    actions.do_update_case(case=case, changes={"status": CaseStatus.CLOSED}, acting_user=agent)
    case.refresh_from_db()
    assert (case.status, case.sub_status_id) == ("追客終了", None)


def test_set_case_tags_replaces_in_order(company, org, agent):
    tags = make_tags(company, 4)
    case = testing.make_case(company, org["SBY"], tags=tags[:2])
    assert actions.do_set_case_tags(case=case, tags=[tags[3], tags[0]], acting_user=agent) is True
    assert actions.do_set_case_tags(case=case, tags=[tags[3], tags[0]], acting_user=agent) is False
    assert list(CaseTag.objects.for_company(company).filter(case=case).order_by("position").values_list("tag__name", flat=True)) == ["タグ3", "タグ0"]


def test_set_sub_assignees_refuses_twenty_and_keeps_the_old_ones(company, org, agent):
    old = [testing.make_user(company, org["SBY"])]
    case = testing.make_case(company, org["SBY"], main_assignee=agent, sub_assignees=old)
    new = [testing.make_user(company, org["SBY"]) for _ in range(20)]
    with pytest.raises(ApplicationError), transaction.atomic():
        actions.do_set_case_sub_assignees(case=case, users=new, acting_user=agent)
    assert list(CaseAssignee.objects.for_company(company).filter(case=case).values_list("user_id", flat=True)) == [old[0].pk]


def test_custom_values_are_validated_against_their_definition(company, org, agent):
    actions.do_upsert_custom_field(company=company, name="所有物件数", field_type=CustomFieldType.NUMBER)
    actions.do_upsert_custom_field(company=company, name="希望エリア", field_type=CustomFieldType.CHOICE, choices=["城南", "城北"])
    case = testing.make_case(company, org["SBY"], custom_values={"所有物件数": "3", "希望エリア": "城南"})
    assert case.custom_values == {"所有物件数": 3, "希望エリア": "城南"}
    with pytest.raises(ApplicationError) as raised, transaction.atomic():
        testing.make_case(company, org["SBY"], custom_values={"所有物件数": "三", "希望エリア": "湾岸", "未定義": "x"})
    assert raised.value.code == error_codes.CUSTOM_VALUE_INVALID
    assert raised.value.fields == {
        "custom:所有物件数": ["Enter a number."],
        "custom:希望エリア": ["“湾岸” is not one of the choices."],
        "custom:未定義": ["There is no custom field with this name."],
    }


def test_trash_and_restore_case(company, org, agent, company_admin):
    case = testing.make_case(company, org["SBY"], main_assignee=agent)
    assert actions.do_trash_case(case=case, acting_user=company_admin) is True
    assert actions.do_trash_case(case=case, acting_user=company_admin) is False
    assert case.deleted_at is not None
    actions.do_restore_case(case=case, acting_user=company_admin)
    case.refresh_from_db()
    assert case.deleted_at is None
    verbs = list(AuditEvent.objects.for_company(company).filter(object_type="crm.case", object_id=str(case.pk)).order_by("pk").values_list("verb", flat=True))
    assert verbs == ["create", "trash", "restore"]


def test_restore_of_a_case_not_in_trash_is_refused(company, org):
    case = testing.make_case(company, org["SBY"])
    with pytest.raises(ApplicationError) as raised:
        actions.do_restore_case(case=case, acting_user=None)
    assert raised.value.code == error_codes.NOT_IN_TRASH


def test_trash_customer_takes_its_cases_and_restore_brings_back_only_those(company, org, company_admin):
    # given: a customer with two cases, one of which was trashed on its own before
    case = testing.make_case(company, org["SBY"])
    with company_scope(company):
        second = actions.do_create_case(customer=case.customer, data=actions.CaseInput(kind="buy", owning_org=org["SBY"]), acting_user=None)
    actions.do_trash_case(case=second, acting_user=None)
    Case.objects.for_company(company).filter(pk=second.pk).update(deleted_at=timezone.now() - datetime.timedelta(days=1))
    # when
    trashed = actions.do_trash_customer(customer=case.customer, acting_user=company_admin)
    restored = actions.do_restore_customer(customer=case.customer, acting_user=company_admin)
    # then
    assert (trashed, restored) == (1, 1)
    assert Case.objects.for_company(company).get(pk=case.pk).deleted_at is None
    assert Case.objects.for_company(company).get(pk=second.pk).deleted_at is not None


def test_purge_trash_deletes_only_what_is_older_than_retention(company, org, settings):
    settings.TRASH_RETENTION_DAYS = 30
    old = testing.make_case(company, org["SBY"], customer_name="古い 顧客")
    recent = testing.make_case(company, org["SBY"], customer_name="新しい 顧客")
    actions.do_trash_customer(customer=old.customer, acting_user=None)
    actions.do_trash_customer(customer=recent.customer, acting_user=None)
    Customer.objects.for_company(company).filter(pk=old.customer_id).update(deleted_at=timezone.now() - datetime.timedelta(days=31))
    Case.objects.for_company(company).filter(pk=old.pk).update(deleted_at=timezone.now() - datetime.timedelta(days=31))
    assert actions.do_purge_trash(company=company) == (1, 1)
    assert set(Case.objects.for_company(company).values_list("pk", flat=True)) == {recent.pk}


def test_masters_upsert_is_idempotent(company):
    rank, created = actions.do_upsert_rank(company=company, name="S")
    again, created_again = actions.do_upsert_rank(company=company, name="S")
    assert (created, created_again, rank.pk) == (True, False, again.pk)
    assert Tag.objects.for_company(company).count() == 0
