"""The inquiry intake keeps the 名寄せ candidates current: a portal mail and LINE (the batch writer gives the same rows
as one by one: test_mail_batch.py)."""

import pytest

from estatecrm.crm import actions
from estatecrm.crm.choices import CaseOrigin
from estatecrm.crm.models import Case, Contact, Customer, DuplicateCandidate
from estatecrm.inquiries.choices import InquiryStatus
from estatecrm.inquiries.mail import take_mail
from estatecrm.inquiries.tests.line_fake import USER_ID, event, text_message
from estatecrm.inquiries.tests.test_intake import SUUMO_BODY, suumo_mail
from estatecrm.inquiries.tests.test_line_events import receive

pytestmark = pytest.mark.django_db


def customer_with_case(company, org, name: str, phone: str) -> Case:
    customer = actions.do_create_customer(company=company, acting_user=None, data=actions.CustomerInput(
        name=name, contacts=[actions.ContactInput(name=name, phones=[("mobile", phone)])]))
    return actions.do_create_case(customer=customer, acting_user=None, data=actions.CaseInput(kind="rent", owning_org=org["SBY"]))


def pairs(company) -> list[tuple]:
    return sorted(DuplicateCandidate.objects.for_company(company).values_list("case_a_id", "case_b_id", "rule"))


def test_a_mail_whose_phone_two_customers_hold_makes_a_new_customer_that_pairs_with_both(company, org, suumo):
    # given: two customers with the mail's phone (a pair already)
    first = customer_with_case(company, org, "山田 太郎", "090-1234-5678")
    second = customer_with_case(company, org, "山田 次郎", "090-1234-5678")
    assert pairs(company) == [(first.pk, second.pk, "phone")]
    # when
    outcome = take_mail(suumo.company_id, suumo_mail())
    # then
    assert outcome.status == InquiryStatus.CREATED
    new = outcome.case
    assert pairs(company) == [(first.pk, second.pk, "phone"), (first.pk, new.pk, "phone"), (second.pk, new.pk, "phone")]
    assert Case.objects.for_company(company).get(pk=new.pk).has_duplicates is True
    assert "TEL：090-1234-5678" in SUUMO_BODY


def test_a_line_message_of_a_known_customer_opens_a_case_that_is_a_candidate(company, org, line_channel, fake_line):
    # given: a LINE friend whose case went to the trash, and who was given the phone of another customer meanwhile
    fake_line.profiles[USER_ID] = "山田 花子"
    receive(line_channel, event("follow", "01HFOLLOW"))
    old = Case.objects.for_company(company).get()
    actions.do_trash_case(case=old, acting_user=None)
    other = customer_with_case(company, org, "山田 花", "090-1234-5678")
    friend = Customer.objects.for_company(company).get(pk=old.customer_id)
    contact = Contact.objects.for_company(company).get(customer=friend)
    actions.do_save_contact(customer=friend, contact=contact, acting_user=None, data=actions.ContactEdit(
        name=contact.name, points=[actions.ContactPointEdit(kind="mobile", raw="09012345678")]))
    assert pairs(company) == []
    # when
    receive(line_channel, text_message("01HTEXT", "まだ探しています"))
    # then
    new = Case.objects.for_company(company).exclude(pk__in=(old.pk, other.pk)).get()
    assert new.origin == CaseOrigin.LINE
    assert pairs(company) == [(other.pk, new.pk, "phone")]
    assert set(Case.objects.for_company(company).filter(has_duplicates=True).values_list("pk", flat=True)) == {other.pk, new.pk}
