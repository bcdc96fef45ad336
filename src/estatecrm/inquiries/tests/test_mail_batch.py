"""import-eml takes new mails in batches (inquiries.batch): the same outcomes and the same rows as
taking the same mails one by one with take_mail (what IMAP, the API and the inbox do)."""

import io
import json
from email.header import Header

import pytest
from django.core.management import call_command
from django.db import transaction

from estatecrm.audit.models import AuditEvent
from estatecrm.crm.actions import ContactInput, CustomerInput, do_create_customer
from estatecrm.crm.models import Activity, Case, Contact, ContactPoint, Customer, Listing, ListingStation
from estatecrm.inquiries.mail import mail_sources, take_mail
from estatecrm.inquiries.models import Inquiry
from estatecrm.inquiries.tests.test_mail_command import add_sources


def mail(message_id: str, body: str, *, sender: str = "form@acme.example.jp", subject: str = "【HP】お問い合わせ") -> bytes:
    head = [f"From: {sender}", "To: shop@acme.example.jp", f"Subject: {Header(subject, 'utf-8').encode()}",
            "Date: Sun, 06 Dec 2026 10:15:04 +0900", "MIME-Version: 1.0", 'Content-Type: text/plain; charset="UTF-8"',
            "Content-Transfer-Encoding: 8bit"]
    if message_id:
        head.insert(4, f"Message-ID: <{message_id}>")
    return ("\r\n".join(head) + "\r\n\r\n" + body.replace("\n", "\r\n")).encode("utf-8")


def website(message_id: str, number: str, *, name: str = "", phone: str = "", email: str = "", listing: str = "", extra: str = "") -> bytes:
    lines = [f"【お問い合わせ番号】{number}", "【お問い合わせ種別】来店予約"]
    lines += [f"【{label}】{value}" for label, value in (("お名前", name), ("電話番号", phone), ("メールアドレス", email), ("物件名", listing)) if value]
    return mail(message_id, "ホームページからお問い合わせがありました。\n\n" + "\n".join(lines) + extra + "\n【お問い合わせ内容】\n空室確認をお願いします。\n")


def suumo(message_id: str, number: str, *, name: str, phone: str, ref: str) -> bytes:
    body = (f"反響到着日時 2026/12/05 09:00:00\n連番:{number}\nお問合せ企画:SUUMOネット/賃貸物件枠問い合わせ\n\n■問合せ物件\n物件コード:{ref}\n"
            f"物件名:パークハイツ代官山 {ref[-3:]}\n最寄り駅:東急東横線/代官山 歩7分\n所在地:東京都目黒区上目黒2丁目\n賃料:12.5万円\n間取り:1LDK\n"
            f"専有面積:40.5m2\n\n■お客様プロフィール\n名前(漢字):{name}\nTEL:{phone}\nお問合せ内容:\n内見希望です。\n")
    return mail(message_id, body, sender="system@jds.suumo.jp", subject="[リクルートJDS]反響お知らせメール")


MAILS = [
    website("new-a@x", "W-1", name="青木 一郎", phone="090-1111-0001", email="a@example.jp", listing="メゾン渋谷 101",
            extra="\n【受付日時】2026年12月4日(金) 8時30分\n【ご希望の入居時期】1ヶ月以内"),
    website("known@x", "W-2", name="木下 花子", phone="090-2222-0002"),  # a known customer: linked
    website("shared@x", "W-3", name="代表 太郎", phone="03-1234-5678"),  # a number of two customers: new, 要確認
    website("new-a@x", "W-1b", name="青木 一郎", phone="090-1111-0001"),  # the same Message-ID again
    website("new-a-resent@x", "W-1", name="青木 一郎", phone="090-1111-0001"),  # the same inquiry id again
    website("new-a-again@x", "W-4", name="青木 一郎", email="A@example.jp"),  # the new customer of the first mail: linked
    website("new-b@x", "W-5", name="馬場 次郎", phone="090-3333-0003", email="b@example.jp", listing="メゾン渋谷 101"),  # the new listing
    suumo("suumo-1@x", "R0000000001", name="千葉 三郎", phone="080-4444-0004", ref="100000000123"),
    suumo("suumo-2@x", "R0000000002", name="土屋 四郎", phone="080-5555-0005", ref="100000000123"),  # the same new listing
    suumo("suumo-3@x", "R0000000003", name="手塚 五郎", phone="080-6666-0006", ref="100000000999"),  # a listing the company has
    website("a-and-b@x", "W-6", name="青木 馬場", phone="090-1111-0001", email="b@example.jp"),  # two new customers: new, 要確認
    mail("news@x", "新着物件のご紹介", sender="news@vendor.example.com", subject="新着物件"),  # unmatched
    website("bad-phone@x", "W-7", name="江藤 六郎", phone="でんわ不明"),  # failed: not a phone number
    website("nobody@x", "W-8"),  # failed: nobody to reach
    website("earlier@x", "W-0", name="古田 七郎", phone="090-7777-0007"),  # imported before: a duplicate
    website("", "W-9", name="野村 八郎", phone="090-8888-0008"),  # no Message-ID
    website("known-2@x", "W-10", name="木下 花子", email="kinoshita@example.jp"),  # the known customer by e-mail
    b"X-Broken: yes\r\n\r\n" + website("broken@x", "W-11", name="壊 れた", phone="090-9999-0009"),  # failed: cannot be read
]
OUTCOMES = {"created": 8, "linked_existing": 3, "duplicates": 3, "unmatched": 1, "failed": 3}


def customer_key(customer_id, names):
    return names.get(customer_id)


def written(company_id: int, since: dict) -> dict:
    """What the intake wrote after `since` (the largest ids before), without ids, times and numbers."""
    customers = {customer.pk: customer.name for customer in Customer.objects.for_company(company_id)}
    cases = {case.pk: (customers[case.customer_id], case.first_inquiry_source, case.source_id)
             for case in Case.objects.for_company(company_id)}
    listings = {listing.pk: listing.ref for listing in Listing.objects.for_company(company_id)}

    def new(model):
        return model.objects.for_company(company_id).filter(pk__gt=since.get(model, 0))

    def rows(queryset, skip=(), **mapped):
        result = []
        for values in queryset.values():
            for name in ("id", "created_at", "updated_at", "company_id", *skip):
                values.pop(name, None)
            for name, table in mapped.items():
                values[name] = table.get(values[name]) if values[name] is not None else None
            if isinstance(values.get("raw"), memoryview):
                values["raw"] = bytes(values["raw"])
            result.append(values)
        return sorted(result, key=lambda value: json.dumps(value, sort_keys=True, ensure_ascii=False, default=str))

    contacts = {contact.pk: (customers[contact.customer_id], contact.position) for contact in Contact.objects.for_company(company_id)}
    events = []
    for event in new(AuditEvent).values("verb", "object_type", "object_repr", "after", "actor_id", "run_id"):
        after = dict(event.pop("after"))
        for name in ("id", "created_at", "updated_at", "number", "line_link_number"):
            after.pop(name, None)
        if "customer_id" in after:
            after["customer_id"] = customers[after["customer_id"]]
        events.append({**event, "after": after})
    return {
        "customers": rows(new(Customer), skip=("line_link_number",)),
        "contacts": rows(new(Contact), customer_id=customers),
        "points": rows(new(ContactPoint), customer_id=customers, contact_id=contacts),
        "cases": rows(new(Case), skip=("number",), customer_id=customers),
        "desired": sorted(new(Case).values_list("source_id", "desired__move_in")),
        "listings": rows(new(Listing)),
        "stations": rows(new(ListingStation), listing_id=listings),
        "activities": rows(new(Activity), case_id=cases),
        # (a mail that cannot be read is received "now": the time it was taken)
        "inquiries": [{**row, "received_at": None} if row["sender"] == row["subject"] == "" else row
                      for row in rows(new(Inquiry), customer_id=customers, case_id=cases)],
        "events": sorted(events, key=lambda value: json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)),
    }


@pytest.mark.django_db
def test_a_batch_writes_what_taking_the_mails_one_by_one_writes(company, org, agent, tmp_path, monkeypatch):
    # given: the sources, a known customer, two customers sharing a number, a listing, a mail imported before
    add_sources(company, org, agent)
    for name, phones, emails in (("木下 花子", ["090-2222-0002"], ["kinoshita@example.jp"]), ("代表 一", ["03-1234-5678"], []),
                                 ("代表 二", ["03-1234-5678"], [])):
        do_create_customer(company=company, acting_user=None, data=CustomerInput(
            name=name, contacts=[ContactInput(name=name, phones=[("phone", phone) for phone in phones], emails=emails)]))
    Listing.objects.create(company=company, ref="100000000999", suumo_id="100000000999", name="既存ハイツ")
    take_mail(company.pk, MAILS[14])
    since = {model: model.objects.for_company(company.pk).order_by("-pk").values_list("pk", flat=True).first() or 0
             for model in (Customer, Contact, ContactPoint, Case, Listing, ListingStation, Activity, Inquiry, AuditEvent)}
    from estatecrm.inquiries import mail as mail_module

    decode_mail = mail_module.decode_mail

    def breaking(raw):
        if raw.startswith(b"X-Broken"):
            raise ValueError("the parser gives up")
        return decode_mail(raw)

    monkeypatch.setattr(mail_module, "decode_mail", breaking)
    notified = []
    from estatecrm.core import transactions

    enqueue = transactions.enqueue_on_commit
    monkeypatch.setattr(transactions, "enqueue_on_commit", lambda task, company_id, case_id: (
        notified.append(Case.objects.for_company(company_id).get(pk=case_id).source_id), enqueue(task, company_id, case_id)))
    # when: one by one (then undone)
    with transaction.atomic():
        sources = mail_sources(company.pk)
        statuses = []
        for raw in MAILS:
            with transaction.atomic():
                statuses.append(take_mail(company.pk, raw, sources=sources).status)
        one_by_one, notified_one_by_one = written(company.pk, since), sorted(notified)
        transaction.set_rollback(True)
    notified.clear()
    # when: the same mails through import-eml, in one batch
    for number, raw in enumerate(MAILS):
        (tmp_path / f"{number:02d}.eml").write_bytes(raw)
    out = io.StringIO()
    from estatecrm.inquiries import batch

    taken_in_batches = []
    take_batch = batch.take_prepared_batch

    def counted_batch(company, items, **kwargs):
        statuses = take_batch(company, items, **kwargs)  # an error here would fall back to one by one, unseen
        taken_in_batches.append(len(items))
        return statuses

    monkeypatch.setattr(batch, "take_prepared_batch", counted_batch)
    monkeypatch.setattr("estatecrm.inquiries.management.commands.inquiries.take_prepared_batch", batch.take_prepared_batch)
    call_command("inquiries", "import-eml", "--company", "acme", str(tmp_path), "--json", stdout=out)
    # then: the same outcomes and the same rows
    summary = json.loads(out.getvalue())
    assert {key: summary[key] for key in OUTCOMES} == OUTCOMES and summary["errors"] == []
    counted = {"created": "created", "linked_existing": "linked_existing", "duplicate": "duplicates", "unmatched": "unmatched", "failed": "failed"}
    assert {key: [counted[status] for status in statuses].count(key) for key in OUTCOMES} == OUTCOMES
    assert sum(taken_in_batches) == len(MAILS) - 3 and max(taken_in_batches) >= 3
    in_batches = written(company.pk, since)
    for table, expected in one_by_one.items():
        assert in_batches[table] == expected, table
    assert sorted(notified) == notified_one_by_one and len(notified) == 3  # the website source has no assignee
    # and: what the mails say is there (not only the same on both paths)
    cases = Case.objects.for_company(company.pk).filter(pk__gt=since[Case])
    assert {case.source_id: case.customer.name for case in cases.filter(needs_review=True)} == {
        "W-2": "木下 花子", "W-3": "代表 太郎", "W-4": "青木 一郎", "W-6": "青木 馬場", "W-10": "木下 花子"}
    assert Listing.objects.for_company(company.pk).filter(name="メゾン渋谷 101").count() == 1
    assert Listing.objects.for_company(company.pk).filter(suumo_id="100000000123").count() == 1
    assert cases.get(source_id="R0000000003").first_inquiry_listing_name == "既存ハイツ"
    assert cases.get(source_id="W-1").desired.move_in == "1ヶ月以内"
    broken = Inquiry.objects.for_company(company.pk).get(error__contains="the parser gives up")
    assert broken.status == "failed" and bytes(broken.raw) == MAILS[-1] and broken.message_id.startswith("sha256:")
