"""Realistic mails that wait in 「取り込めなかった反響」: a portal no source knows yet (LIFULL HOME'S style, read by
labels in 【】), a SUUMO mail without the customer's details (the office did not enable 反響情報あり), an
advertising mail, a plain-text mail quoting markup, and an HTML-only mail."""

from email.message import EmailMessage

HOMES_BODY = """\
株式会社アクメ不動産 渋谷店 御中

LIFULL HOME'S をご利用いただき、誠にありがとうございます。
下記の物件について、お客様よりお問い合わせがありました。

━━━━━━━━━━━━━━━━━━━━
【お問い合わせ番号】 H-2026-120601
【お問い合わせ種別】 空室確認・内見希望
━━━━━━━━━━━━━━━━━━━━
■物件情報
【物件名】 ルミエール代々木 201
【所在地】 東京都渋谷区代々木2-10-5
【賃料】 12.3万円
【間取り】 1LDK

■お客様情報
【お名前】 高橋 美咲
【フリガナ】 タカハシ ミサキ
【電話番号】 080-4321-8765
【メールアドレス】 misaki.t@example.ne.jp
【お問い合わせ内容】
12月中旬に内見を希望します。
土日の午前中だと助かります。
━━━━━━━━━━━━━━━━━━━━
LIFULL HOME'S 運営事務局
"""

HOMES_LABELS = {"お名前": "customer_name", "フリガナ": "customer_kana", "電話番号": "phone", "メールアドレス": "email",
                "お問い合わせ内容": "message", "お問い合わせ番号": "inquiry_id", "物件名": "listing_name"}

SUUMO_WITHOUT_CUSTOMER = """\
SUUMOをご利用いただきありがとうございます。
反響がありましたのでお知らせいたします。

■問合せ物件
物件名：パークハイツ渋谷 302
所在地：東京都渋谷区道玄坂1-2-3
賃料：8.5万円

お客様の情報は SUUMO 管理画面でご確認ください。
────────────────
リクルートJDS
"""

ADVERTISING_BODY = """\
【年末特価】不動産業者様向け 反響アップセミナーのご案内
今なら参加費無料！ お申し込みはこちら https://seminar.example.com/
配信停止はこちら https://seminar.example.com/stop
"""


def mail(body: str, *, sender: str, subject: str, message_id: str, date: str = "Sun, 06 Dec 2026 10:15:00 +0900",
         charset: str = "utf-8", html: bool = False) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "shibuya@acme.example.jp"
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message["Date"] = date
    if html:
        message.set_content(body, subtype="html", charset=charset)
    else:
        message.set_content(body, charset=charset)
    return message.as_bytes()


def homes_mail(message_id: str = "<h1@homes.co.jp>", body: str = HOMES_BODY, date: str = "Sun, 06 Dec 2026 10:15:00 +0900") -> bytes:
    return mail(body, sender="LIFULL HOME'S <toiawase@homes.co.jp>", subject="【LIFULL HOME'S】お問い合わせがありました",
                message_id=message_id, date=date, charset="iso-2022-jp")


def suumo_without_customer(message_id: str = "<s9@jds.suumo.jp>") -> bytes:
    return mail(SUUMO_WITHOUT_CUSTOMER, sender="SUUMO <info@jds.suumo.jp>", subject="[リクルートJDS]反響お知らせメール",
                message_id=message_id, date="Sun, 06 Dec 2026 09:05:00 +0900", charset="iso-2022-jp")


def advertising_mail(message_id: str = "<ad1@seminar.example.com>") -> bytes:
    return mail(ADVERTISING_BODY, sender="反響アップ事務局 <info@seminar.example.com>", subject="【無料】反響アップセミナーのご案内",
                message_id=message_id, date="Sat, 05 Dec 2026 18:30:00 +0900")
