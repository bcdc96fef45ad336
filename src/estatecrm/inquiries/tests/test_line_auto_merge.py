"""自動名寄せ on LINE: a new friend who sends a recent customer's link number is merged into that customer's case."""

import datetime

import pytest
from django.utils import timezone, translation

from estatecrm.core import testing
from estatecrm.crm.choices import ActivityKind, CaseOrigin
from estatecrm.crm.models import Activity, Case, Customer
from estatecrm.dedup.choices import MergeMode
from estatecrm.dedup.models import Merge, MergeCase
from estatecrm.inquiries.line import process_pending, store_events
from estatecrm.inquiries.tests.line_fake import USER_ID, event, text_message

pytestmark = pytest.mark.django_db
OTHER_USER_ID = "U" + "0123456789" * 3 + "9f9f"


def receive(channel, *events) -> int:
    store_events(channel, list(events))
    return process_pending(channel.company_id)


@pytest.fixture
def known(company, org, agent):
    """A customer registered today (by a walk-in), with a case in 渋谷店 (the LINE channel's unit)."""
    return testing.make_case(company, org["SBY"], main_assignee=agent, customer_name="山田 花子", phones=(("mobile", "090-1111-2222"),),
                             emails=("yamada@example.jp",))


def line_case(company) -> Case:
    return Case.objects.for_company(company).get(origin=CaseOrigin.LINE)


def spaced(number: str) -> str:
    """The number as a customer types it on a phone: full-width digits, a space in the middle."""
    wide = number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    return f"{wide[:4]} {wide[4:]}"


def in_japanese(message: str, **values) -> str:
    with translation.override("ja"):
        return translation.gettext(message) % values


def test_link_number_of_a_recent_customer_merges_the_line_case_into_its_case(company, known, line_channel, fake_line):
    # given: a new LINE friend (its own customer and LINE case)
    fake_line.profiles[USER_ID] = "はなこ"
    receive(line_channel, event("follow", "01HFOLLOW"))
    new_case = line_case(company)
    # when: the friend sends the link number of the customer registered today
    receive(line_channel, text_message("01HNUMBER", spaced(known.customer.line_link_number)))
    # then: one automatic merge by nobody on the staff, integrating the LINE case into the customer's case
    merge = Merge.objects.for_company(company).get()
    assert (merge.survivor_id, merge.mode, merge.is_automatic, merge.acting_user_id) == (known.pk, MergeMode.INTEGRATE, True, None)
    assert list(MergeCase.objects.for_company(company).values_list("case_id", flat=True)) == [new_case.pk]
    new_case.refresh_from_db()
    assert (new_case.merged_into_id, new_case.deleted_at is not None) == (known.pk, True)
    # the customer is now the LINE user's, and the friend's history is in its case
    known.customer.refresh_from_db()
    assert known.customer.line_user_id == USER_ID
    assert list(Customer.objects.for_company(company).filter(deleted_at__isnull=True).values_list("pk", flat=True)) == [known.customer_id]
    assert list(Activity.objects.for_company(company).filter(case=known, kind__in=[ActivityKind.INQUIRY, ActivityKind.LINE])
                .order_by("occurred_at", "pk").values_list("kind", "body")) == [
        (ActivityKind.INQUIRY, "はなこ"), (ActivityKind.LINE, spaced(known.customer.line_link_number))]
    # when: the user writes again
    receive(line_channel, text_message("01HLATER", "明日伺います", timestamp=1796000120000))
    # then: it lands in the customer's case, and nothing new is made
    assert Activity.objects.for_company(company).filter(case=known, kind=ActivityKind.LINE).order_by("-occurred_at").first().body == "明日伺います"
    assert Case.objects.for_company(company).filter(deleted_at__isnull=True).count() == 1


@pytest.mark.parametrize("text", ["こんにちは、内見の相談です", "12345678", "1234567"])
def test_a_message_without_a_known_link_number_keeps_the_new_line_case(company, known, line_channel, fake_line, text):
    # given: a new LINE friend; 12345678 is nobody's number here (numbers are scattered), 1234567 is not one
    assert not Customer.objects.for_company(company).filter(line_link_number="12345678").exists()
    receive(line_channel, event("follow", "01HFOLLOW"))
    # when
    receive(line_channel, text_message("01HTEXT", text))
    # then: no merge, no flag; the LINE case stays as the friend add made it
    assert not Merge.objects.for_company(company).exists()
    case = line_case(company)
    assert (case.deleted_at, case.merged_into_id, case.needs_review, case.review_messages) == (None, None, False, [])
    assert Case.objects.for_company(company).filter(deleted_at__isnull=True).count() == 2


def test_link_number_of_an_older_customer_is_not_merged_and_the_line_case_says_why(company, known, line_channel, fake_line):
    # given: the customer was registered 31 days ago
    Customer.objects.for_company(company).filter(pk=known.customer_id).update(created_at=timezone.now() - datetime.timedelta(days=31))
    receive(line_channel, event("follow", "01HFOLLOW"))
    number = known.customer.line_link_number
    # when
    receive(line_channel, text_message("01HNUMBER", number))
    # then
    assert not Merge.objects.for_company(company).exists()
    case = line_case(company)
    assert (case.deleted_at, case.needs_review) == (None, True)
    assert case.review_messages == [in_japanese(
        "The LINE user sent the LINE link number %(number)s of %(name)s (case #%(case)s), a customer registered more than "
        "%(days)d days ago: not merged automatically. If it is the same person, merge the cases by hand.",
        number=number, name="山田 花子", case=known.number, days=30)]
    known.customer.refresh_from_db()
    assert known.customer.line_user_id == ""


def test_link_number_of_a_case_in_another_unit_is_not_merged_and_names_the_unit(company, org, agent, line_channel, fake_line):
    # given: the customer's case is in 新宿店; the LINE channel puts its cases in 渋谷店
    other = testing.make_case(company, org["SJK"], main_assignee=agent, customer_name="新宿 花子")
    receive(line_channel, event("follow", "01HFOLLOW"))
    # when
    receive(line_channel, text_message("01HNUMBER", other.customer.line_link_number))
    # then
    assert not Merge.objects.for_company(company).exists()
    case = line_case(company)
    assert case.needs_review is True
    assert case.review_messages == [in_japanese(
        "The LINE user sent the LINE link number %(number)s of %(name)s (case #%(case)s), a case of another unit "
        "(%(unit)s): cases linked to LINE are merged only within one unit. Move one of the cases, then merge them by hand.",
        number=other.customer.line_link_number, name="新宿 花子", case=other.number, unit="新宿店")]
    other.refresh_from_db()
    assert (other.deleted_at, other.needs_review) == (None, False)


def test_link_number_of_a_customer_linked_to_another_line_user_is_not_merged(company, known, line_channel, fake_line):
    # given: the customer is already the friend of another LINE user
    Customer.objects.for_company(company).filter(pk=known.customer_id).update(line_user_id=OTHER_USER_ID)
    receive(line_channel, event("follow", "01HFOLLOW"))
    # when
    receive(line_channel, text_message("01HNUMBER", known.customer.line_link_number))
    # then
    assert not Merge.objects.for_company(company).exists()
    assert line_case(company).review_messages == [in_japanese(
        "The LINE user sent the LINE link number %(number)s of %(name)s (case #%(case)s), who is linked to another LINE "
        "user: not merged automatically. Check who this is.", number=known.customer.line_link_number, name="山田 花子", case=known.number)]
    known.customer.refresh_from_db()
    assert known.customer.line_user_id == OTHER_USER_ID


def test_link_number_from_a_friend_with_a_history_of_its_own_is_not_merged(company, org, agent, known, line_channel, fake_line):
    # given: the LINE friend's customer already has a second case (a phone inquiry, say)
    receive(line_channel, event("follow", "01HFOLLOW"))
    friend = line_case(company).customer
    from estatecrm.crm.actions import CaseInput, do_create_case

    do_create_case(customer=friend, data=CaseInput(kind="buy", owning_org=org["SBY"], status="新規", main_assignee=agent), acting_user=None)
    # when
    receive(line_channel, text_message("01HNUMBER", known.customer.line_link_number))
    # then
    assert not Merge.objects.for_company(company).exists()
    flagged = Case.objects.for_company(company).get(customer=friend, needs_review=True)
    assert flagged.review_messages == [in_japanese(
        "The LINE user sent the LINE link number %(number)s of %(name)s (case #%(case)s), but this LINE friend already has "
        "a history of its own: not merged automatically. If it is the same person, merge the cases by hand.",
        number=known.customer.line_link_number, name="山田 花子", case=known.number)]


def test_a_merge_the_action_refuses_leaves_both_cases_and_flags_the_line_case(company, known, line_channel, fake_line):
    # given: the automatic merge was asked for, then the customer's case went to the trash before it ran
    from estatecrm.crm.actions import do_trash_case
    from estatecrm.inquiries.line import LinkMerge, merge_linked_case

    receive(line_channel, event("follow", "01HFOLLOW"))
    new_case = line_case(company)
    do_trash_case(case=known, acting_user=None)
    # when
    merge_linked_case(LinkMerge(company_id=company.pk, survivor_id=known.pk, line_case_id=new_case.pk,
                                link_number=known.customer.line_link_number))
    # then: nothing merged; the LINE case says the merge was refused and why
    assert not Merge.objects.for_company(company).exists()
    new_case.refresh_from_db()
    assert (new_case.deleted_at, new_case.merged_into_id, new_case.needs_review) == (None, None, True)
    refusal = in_japanese("Cases in the trash cannot be merged: %(numbers)s.", numbers=f"#{known.number}")
    assert new_case.review_messages == [in_japanese(
        "The LINE user sent the LINE link number %(number)s; the automatic merge was refused: %(reason)s",
        number=known.customer.line_link_number, reason=refusal)]
