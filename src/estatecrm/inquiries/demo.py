"""The demo company's inquiry intake: sources, a LINE channel, and about twenty portal mails taken in.

Sources (in the demo's stores, each with one of the store's agents as default assignee): SUUMO with its
preset, LIFULL HOME'S read by its own labels, the office's website (preset `website`), at home (off).
A LINE channel (off, a dummy secret). The mails go through `inquiries.mail.take_mail` exactly as
`inquiries import-eml` takes them, in the charsets portals use (ISO-2022-JP, Shift_JIS, UTF-8, one
HTML-only); a few are from customers the demo already knows, two are recognized by no source and one
cannot be read, so that 「取り込めなかった反響」 has something to show.
"""

import datetime
import random
from collections import Counter
from email.message import EmailMessage
from email.utils import format_datetime

from django.utils import timezone

from estatecrm.core.scope import company_scope
from estatecrm.crm.models import Case, ContactPoint, Customer, Listing
from estatecrm.inquiries import actions
from estatecrm.inquiries.choices import Channel, Preset
from estatecrm.inquiries.mail import take_mail
from estatecrm.inquiries.models import Inquiry
from estatecrm.tenancy.models import Company, OrgUnit, User

SUUMO_FROM = "SUUMO 反響お知らせ <info@jds.suumo.jp>"
HOMES_FROM = "LIFULL HOME'S <toiawase@homes.co.jp>"
WEBSITE_FROM = "デモ不動産 ホームページ <form@demo-fudosan.example.jp>"
OFFICE_TO = "hankyo@demo-fudosan.example.jp"
HOMES_LABELS = {
    "問合せNo": "inquiry_id", "お問合せ日時": "received_at", "お名前": "customer_name", "フリガナ": "customer_kana",
    "電話番号": "phone", "メールアドレス": "email", "物件番号": "listing_ref", "物件名": "listing_name", "賃料": "listing_price",
    "価格": "listing_price", "所在地": "listing_address", "間取り": "listing_layout", "専有面積": "listing_area",
    "交通": "listing_station", "お問合せ種別": "inquiry_type", "ご質問・ご要望": "message", "入居希望時期": "desired_move_in",
}
NEW_PEOPLE = [
    ("中村 優奈", "ナカムラ ユウナ", "090-3381-2207", "yuna.nakamura@example.jp"),
    ("小林 大輔", "コバヤシ ダイスケ", "080-5520-9134", "d.kobayashi@example.jp"),
    ("加藤 さくら", "カトウ サクラ", "070-4412-8876", "sakura.kato@example.jp"),
    ("吉田 拓海", "ヨシダ タクミ", "090-7743-1058", "takumi-y@example.jp"),
    ("山田 彩", "ヤマダ アヤ", "080-1187-6620", ""),
    ("佐々木 健", "ササキ ケン", "", "ken.sasaki@example.jp"),
    ("松本 里奈", "マツモト リナ", "090-2264-5589", "rina.m@example.jp"),
    ("井上 翼", "イノウエ ツバサ", "070-6630-2241", "tsubasa.inoue@example.jp"),
    ("木村 美穂", "キムラ ミホ", "080-9915-3372", "miho.kimura@example.jp"),
    ("林 亮介", "ハヤシ リョウスケ", "090-8826-4413", "ryosuke.h@example.jp"),
    ("清水 千尋", "シミズ チヒロ", "080-3349-7710", "chihiro.s@example.jp"),
    ("山口 蓮", "ヤマグチ レン", "070-2258-9903", "ren.yamaguchi@example.jp"),
    ("森 愛子", "モリ アイコ", "090-5517-3386", "aiko.mori@example.jp"),
    ("池田 光", "イケダ ヒカル", "080-4471-2259", "hikaru.ikeda@example.jp"),
]
QUESTIONS = [
    "現在も入居者募集中でしょうか。今週末に内見を希望します。",
    "ペット（小型犬1匹）の飼育は可能ですか。",
    "初期費用の概算を教えてください。\nフリーレントの交渉は可能でしょうか。",
    "駐車場の空きはありますか。",
    "在宅勤務のため、インターネット環境について教えてください。",
    "来月中旬の入居を考えています。土日の内見は可能ですか。",
    "同じ建物の別の部屋も空いていれば紹介してください。",
    "二人入居は可能ですか。",
]
TYPES = ["見学・内見したい", "空き状況を知りたい", "詳しい情報を知りたい", "初期費用を知りたい"]


def _money(listing: Listing) -> str:
    if listing.rent is not None:
        return f"{listing.rent}万円"
    return f"{listing.price:,}万円" if listing.price else ""


def _mail(*, sender: str, subject: str, body: str, sent: datetime.datetime, message_id: str, charset: str = "utf-8",
          cte: str | None = None, html: bool = False) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = OFFICE_TO
    message["Subject"] = subject
    message["Date"] = format_datetime(sent)
    message["Message-ID"] = f"<{message_id}>"
    if html:
        markup = "<html><body><table>" + "".join(
            f"<tr><td>{line.split('：', 1)[0]}</td><td>{line.split('：', 1)[1] if '：' in line else ''}</td></tr>" if "：" in line
            else f"<p>{line}</p>" for line in body.split("\n")) + "</table></body></html>"
        message.set_content(markup, subtype="html", charset=charset, cte=cte)
    else:
        message.set_content(body, charset=charset, cte=cte)
    return bytes(message)


def _suumo_body(number: str, received: datetime.datetime, listing: Listing, person, question: str, kind: str) -> str:
    name, kana, phone, email = person
    return "\n".join([
        f"{name} 様より反響がありました。", "", "━━━━━━━━━━━━━━━━━━━━━━━━━━", "■問合せ物件", "━━━━━━━━━━━━━━━━━━━━━━━━━━",
        f"SUUMO物件コード：{listing.suumo_id}", f"物件名：{listing.name}", f"所在地：{listing.prefecture}{listing.city}{listing.street}",
        f"{'賃料' if listing.rent is not None else '価格'}：{_money(listing)}", f"間取り：{listing.layout}", f"専有面積：{listing.area}m2",
        "", "━━━━━━━━━━━━━━━━━━━━━━━━━━", "■お客様プロフィール", "━━━━━━━━━━━━━━━━━━━━━━━━━━",
        f"名前(漢字)：{name}", f"名前(カナ)：{kana}", f"メールアドレス：{email}", f"TEL：{phone}", "",
        f"お問合せ番号：{number}", f"お問合せ日時：{timezone.localtime(received):%Y/%m/%d %H:%M}", f"お問合せ種別：{kind}", "お問合せ内容：", question,
        "--------------------------------------------------", "※本メールは送信専用です。株式会社リクルート",
    ])


def _homes_body(number: str, received: datetime.datetime, listing: Listing, person, question: str) -> str:
    name, kana, phone, email = person
    return "\n".join([
        "LIFULL HOME'S をご利用いただきありがとうございます。", "以下の内容でお問合せがありました。", "",
        "【お問合せ情報】", f"問合せNo：{number}", f"お問合せ日時：{timezone.localtime(received):%Y/%m/%d %H:%M}", "",
        "【お客様情報】", f"お名前：{name}", f"フリガナ：{kana}", f"電話番号：{phone}", f"メールアドレス：{email}", "",
        "【物件情報】", f"物件番号：{listing.homes_id or listing.ref}", f"物件名：{listing.name}",
        f"所在地：{listing.prefecture}{listing.city}{listing.street}", f"賃料：{_money(listing)}", f"間取り：{listing.layout}", "",
        "【ご質問・ご要望】", question, "", "==================================================", "LIFULL HOME'S 事業者サポート",
    ])


def _website_body(number: str, received: datetime.datetime, person, question: str) -> str:
    name, kana, phone, email = person
    return "\n".join([
        "ホームページのお問い合わせフォームから送信がありました。", "", f"受付番号：{number}", f"受付日時：{timezone.localtime(received):%Y-%m-%d %H:%M}",
        "お問い合わせ種別：売却・住み替えの相談", f"お名前：{name}", f"フリガナ：{kana}", f"電話番号：{phone}", f"メールアドレス：{email}",
        "ご希望の入居時期：3ヶ月以内", "お問い合わせ内容：", question, "----",
    ])


def _known_people(company: Company, count: int) -> list[tuple]:
    """Customers the demo already has, each with an e-mail address no other customer shares (so the intake
    links the new case to them rather than asking which one)."""
    emails = Counter(ContactPoint.objects.for_company(company).filter(kind="email").values_list("normalized", flat=True))
    unique = [email for email, seen in emails.items() if seen == 1 and email]
    points = (ContactPoint.objects.for_company(company).filter(kind="email", normalized__in=unique[:200])
              .order_by("customer_id").values_list("customer_id", "raw"))
    chosen = list(points[:count])
    customers = {customer.pk: customer for customer in Customer.objects.for_company(company).filter(pk__in=[pk for pk, _ in chosen])}
    return [(customers[pk].name, customers[pk].kana, "", email) for pk, email in chosen]


def do_load_demo_inquiries(*, company: Company, admin: User, seed: int = 2026) -> Counter:
    """Create the demo's sources and LINE channel and take its mails; returns the outcomes counted by status."""
    rng = random.Random(seed)
    units = {unit.code: unit for unit in OrgUnit.objects.for_company(company)}

    def agent(number: int) -> User:
        return User.objects.get(company=company, email=f"agent{number:02d}@demo.example.jp")

    with company_scope(company):
        sources = [
            actions.SourceInput(code="suumo", name="SUUMO", preset=Preset.SUUMO, position=0, org_unit=units["SBY"], default_assignee=agent(1),
                                from_contains="jds.suumo.jp", subject_contains="反響"),
            actions.SourceInput(code="homes", name="LIFULL HOME'S", position=1, org_unit=units["YKH"], default_assignee=agent(3),
                                from_contains="homes.co.jp", subject_contains="お問合せ", labels=HOMES_LABELS),
            actions.SourceInput(code="website", name="自社HP", preset=Preset.WEBSITE, position=2, org_unit=units["SJK"], default_assignee=agent(2),
                                case_kind="buy", from_contains="form@demo-fudosan.example.jp"),
            actions.SourceInput(code="athome", name="at home", position=3, is_enabled=False, org_unit=units["KWS"], default_assignee=agent(4),
                                from_contains="athome.co.jp", labels={"お名前": "customer_name", "電話番号": "phone", "メールアドレス": "email",
                                                                      "お問合せ内容": "message", "物件名": "listing_name"}),
        ]
        for data in sources:
            actions.do_upsert_source(company=company, data=data, acting_user=admin)
        actions.do_set_line_channel(company=company, acting_user=admin, data=actions.LineInput(
            org_unit=units["SBY"], default_assignee=agent(5), is_enabled=False, channel_secret="demo0channel0secret0not0real000",
            channel_access_token="demo-channel-access-token-not-real"))

        now = timezone.now()
        rent = list(Listing.objects.for_company(company).filter(kind="rent", status="available").exclude(suumo_id="").order_by("pk")[:40])
        homes = list(Listing.objects.for_company(company).filter(kind="rent", status="available").exclude(homes_id="").order_by("-pk")[:40])
        people = list(NEW_PEOPLE)
        known = _known_people(company, 3)
        mails: list[bytes] = []
        for index in range(8):  # SUUMO: ISO-2022-JP as JDS sends it, the last two Shift_JIS in base64
            received = now - datetime.timedelta(days=rng.randint(0, 9), hours=rng.randint(0, 10), minutes=rng.randint(0, 59))
            person = known[index] if index < 2 and index < len(known) else people.pop(0)
            listing = rng.choice(rent)
            body = _suumo_body(f"S{timezone.localtime(received):%y%m%d}{index:04d}", received, listing, person, rng.choice(QUESTIONS), rng.choice(TYPES))
            charset, cte = ("iso-2022-jp", None) if index < 6 else ("shift_jis", "base64")
            mails.append(_mail(sender=SUUMO_FROM, subject=f"【SUUMO】反響お知らせメール（{listing.name}）", body=body, sent=received,
                               message_id=f"suumo-{index}@demo.jds.suumo.jp", charset=charset, cte=cte))
        for index in range(6):  # LIFULL HOME'S: UTF-8 quoted-printable, one HTML-only
            received = now - datetime.timedelta(days=rng.randint(0, 9), hours=rng.randint(0, 10), minutes=rng.randint(0, 59))
            person = known[2] if index == 0 and len(known) > 2 else people.pop(0)
            listing = rng.choice(homes)
            body = _homes_body(f"HM-{timezone.localtime(received):%Y%m%d}-{index + 1:03d}", received, listing, person, rng.choice(QUESTIONS))
            mails.append(_mail(sender=HOMES_FROM, subject="LIFULL HOME'S お問合せのお知らせ", body=body, sent=received,
                               message_id=f"homes-{index}@demo.homes.co.jp", cte="quoted-printable", html=index == 5))
        for index in range(3):  # the website's form
            received = now - datetime.timedelta(days=rng.randint(0, 6), hours=rng.randint(0, 10))
            body = _website_body(f"W-{index + 101}", received, people.pop(0), "今のマンションの売却と住み替えを検討しています。\n一度相談させてください。")
            mails.append(_mail(sender=WEBSITE_FROM, subject="【ホームページ】お問い合わせがありました", body=body, sent=received,
                               message_id=f"website-{index}@demo-fudosan.example.jp"))
        # Recognized by no source: at home is turned off, and Yahoo!不動産 has no source yet.
        mails.append(_mail(sender="at home <info@athome.co.jp>", subject="【at home】物件へのお問合せ",
                           body="お名前：斎藤 陽菜\n電話番号：090-6654-1123\n物件名：ルミエール川崎 302\nお問合せ内容：\n空室状況を教えてください。",
                           sent=now - datetime.timedelta(days=1, hours=3), message_id="athome-1@demo.athome.co.jp"))
        mails.append(_mail(sender="Yahoo!不動産 <realestate-info@mail.yahoo.example.jp>", subject="Yahoo!不動産 お問い合わせ通知",
                           body="■お客様氏名\n岡本 直樹\n■連絡先電話番号\n080-2231-7745\n■お問い合わせ物件\nグランフォレスト横浜 105\n"
                                "■お問い合わせ内容\n初期費用を知りたいです。",
                           sent=now - datetime.timedelta(hours=5), message_id="yahoo-1@demo.yahoo.example.jp"))
        # Recognized as SUUMO but without any customer detail: it cannot be taken.
        mails.append(_mail(sender=SUUMO_FROM, subject="【SUUMO】反響お知らせメール", sent=now - datetime.timedelta(hours=2),
                           body="■問合せ物件\n物件名：パークサイド渋谷 201\n■お客様プロフィール\n（お客様情報の取得に失敗しました）",
                           message_id="suumo-broken@demo.jds.suumo.jp", charset="iso-2022-jp"))
        outcomes = Counter()
        for raw in mails:
            outcome = take_mail(company.pk, raw, channel=Channel.EML)
            outcomes[outcome.status] += 1
            # As if each mail had been fetched when it arrived: the case and the record dated then, like the rest of the demo.
            received = outcome.inquiry.received_at
            Inquiry.objects.for_company(company).filter(pk=outcome.inquiry.pk).update(created_at=received, updated_at=received)
            if outcome.case is not None:
                Case.objects.for_company(company).filter(pk=outcome.case.pk).update(created_at=received, updated_at=received)
    return outcomes
