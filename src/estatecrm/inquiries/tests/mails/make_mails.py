"""Wrote the test mails of this folder once (their bytes are committed; tests never run this).

    python src/estatecrm/inquiries/tests/mails/make_mails.py src/estatecrm/inquiries/tests/mails
"""
import base64
import quopri
import sys
from pathlib import Path

out = Path(sys.argv[1])


def b_word(text, charset, codec=None):
    return f"=?{charset}?B?{base64.b64encode(text.encode(codec or charset)).decode()}?="


def sjis_to_jis(data: bytes) -> bytes:
    """CP932 bytes as CP50220 writes them (ISO-2022-JP with NEC row 13 and NEC-selected IBM rows)."""
    result, index, double = bytearray(), 0, False
    while index < len(data):
        byte = data[index]
        if byte < 0x80:
            if double:
                result += b"\x1b(B"
                double = False
            result.append(byte)
            index += 1
            continue
        lead, trail = byte, data[index + 1]
        index += 2
        if not double:
            result += b"\x1b$B"
            double = True
        row = (lead - (0x70 if lead < 0xA0 else 0xB0)) * 2 - (1 if trail < 0x9F else 0)
        cell = trail - (0x1F if trail < 0x7F else 0x20) if trail < 0x9F else trail - 0x7E
        result += bytes((row, cell))
    if double:
        result += b"\x1b(B"
    return bytes(result)


def cp50220(text: str) -> bytes:
    # 髙 is the IBM extension 0xFBFC in CP932; CP50220 writes its NEC-selected twin 0xEEE0.
    return sjis_to_jis(text.encode("cp932").replace(b"\xfb\xfc", b"\xee\xe0"))


def mail(name, headers, body: bytes, content_type, cte):
    lines = [f"{key}: {value}" for key, value in headers]
    lines += ["MIME-Version: 1.0", f"Content-Type: {content_type}", f"Content-Transfer-Encoding: {cte}"]
    (out / name).write_bytes(("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body)


def crlf(text):
    return text.replace("\n", "\r\n")


SUUMO = """\
株式会社エイカー不動産  渋谷店 御中
反響到着日時 2026/12/06 10:15:00
ID:118200000101
連番:R0001234567
お問合せ企画:SUUMOネット/賃貸物件枠問い合わせ

■問合せ物件
会社名:株式会社エイカー不動産
物件種別:マンション
物件コード:100012345678
物件名:パークハイツ渋谷 302
最寄り駅:ＪＲ山手線/渋谷 歩7分
所在地:東京都渋谷区道玄坂１丁目
賃料:8.5万円
間取り:1LDK
専有面積:35.2m2
物件詳細画面:https://suumo.jp/chintai/bc_100012345678/

■お客様プロフィール
名前(漢字):山田 花子
名前(カナ):ヤマダ ハナコ
メールアドレス:hanako@example.jp
TEL:090-1234-5678
連絡方法:メール
お問合せ内容:
今週末に内見できますか。
駐車場の空きも教えてください。
━━━━━━━━━━━━━━━━━━━━
このメールは送信専用です。
リクルートJDS
"""
suumo_headers = [
    ("From", f"{b_word('リクルートJDS', 'ISO-2022-JP', 'iso2022_jp')} <system@jds.suumo.jp>"),
    ("To", "shibuya@acme.example.jp"),
    ("Subject", b_word("[リクルートＪＤＳ]反響お知らせメール", "ISO-2022-JP", "iso2022_jp")),
    ("Date", "Sun, 06 Dec 2026 10:15:04 +0900"),
    ("Message-ID", "<20261206101504.R0001234567@jds.suumo.jp>"),
]
mail("suumo_iso2022jp.eml", suumo_headers, crlf(SUUMO).encode("iso2022_jp"), 'text/plain; charset="ISO-2022-JP"', "7bit")

# The same inquiry (連番) mailed again in a new mail (a resend).
resend = [(k, v if k != "Message-ID" else "<20261206120000.resend@jds.suumo.jp>") for k, v in suumo_headers]
mail("suumo_resend_same_number.eml", resend, crlf(SUUMO).encode("iso2022_jp"), 'text/plain; charset="ISO-2022-JP"', "7bit")

# SUUMO sales (売買): 価格, 氏名(漢字), 電話番号; UTF-8 base64.
SUUMO_BUY = """\
株式会社エイカー不動産  本店 御中
反響到着日時 2026/12/05 21:40:00
連番:R0009876543
お問合せ企画:SUUMOネット/中古マンション資料請求

問合せ物件
物件種別:中古マンション
物件コード:70012345
物件名:ライオンズ中野 805
最寄り駅:ＪＲ中央線/中野 歩10分
所在地:東京都中野区中野５丁目
価格:3,980万円
間取り:3LDK
専有面積:70.12m2（壁芯）

お客様プロフィール
氏名(漢字):佐藤 一郎
氏名(カナ):サトウ イチロウ
メールアドレス:ichiro.sato@example.com
電話番号:03-1234-5678
お問合せ内容:資料を送ってください。
"""
mail("suumo_buy_utf8_base64.eml", [
    ("From", "SUUMO <system@jds.suumo.jp>"),
    ("To", "honten@acme.example.jp"),
    ("Subject", b_word("[リクルートＪＤＳ]反響お知らせメール", "UTF-8")),
    ("Date", "Sat, 05 Dec 2026 21:40:09 +0900"),
    ("Message-ID", "<20261205214009.R0009876543@jds.suumo.jp>"),
], base64.encodebytes(crlf(SUUMO_BUY).encode("utf-8")), 'text/plain; charset="UTF-8"', "base64")

# The office's own form: Shift_JIS (CP932 bytes), 8bit.
WEBSITE = """\
ホームページからお問い合わせがありました。

【お問い合わせ番号】W-20261206-0042
【受付日時】2026年12月6日(日) 9時05分
【お問い合わせ種別】来店予約
【お名前】鈴木 次郎
【フリガナ】スズキ ジロウ
【電話番号】080-2222-3333（携帯）
【メールアドレス】jiro.suzuki@example.ne.jp
【物件名】メゾン恵比寿 101
【ご希望の入居時期】1ヶ月以内
【お問い合わせ内容】
土曜日の午後に来店したいです。
ペット（小型犬）は相談できますか。
【ご要望】
駅から近いところを希望します。
----------------------------------------
エイカー不動産 ホームページ
"""
mail("website_shift_jis.eml", [
    ("From", f"{b_word('エイカー不動産 ホームページ', 'Shift_JIS', 'cp932')} <form@acme.example.jp>"),
    ("To", "info@acme.example.jp"),
    ("Subject", b_word("【ホームページ】お問い合わせがありました", "Shift_JIS", "cp932")),
    ("Date", "Sun, 06 Dec 2026 09:05:30 +0900"),
    ("Message-ID", "<form-0042@acme.example.jp>"),
], crlf(WEBSITE).encode("cp932"), 'text/plain; charset="Shift_JIS"', "8bit")

# Mislabelled: declared Shift_JIS (body) and ISO-2022-JP (subject, name) but CP932 / CP50220 with ①㈱髙.
MISLABELLED = """\
【お問い合わせ番号】W-20261206-0043
【お名前】髙橋 一郎
【フリガナ】タカハシ イチロウ
【電話番号】045-123-4567
【メールアドレス】takahashi@example.co.jp
【お問い合わせ内容】
①㈱髙橋商事の社宅として2部屋探しています。
②駅から徒歩10分以内を希望します。
"""
mail("website_mislabelled_cp932.eml", [
    ("From", f"{b_word('髙橋 一郎 ①', 'Shift_JIS', 'cp932')} <form@acme.example.jp>"),
    ("To", "info@acme.example.jp"),
    ("Subject", "=?ISO-2022-JP?B?" + base64.b64encode(cp50220("【ホームページ】お問い合わせ ㈱髙橋商事")).decode() + "?="),
    ("Date", "Sun, 06 Dec 2026 11:00:00 +0900"),
    ("Message-ID", "<form-0043@acme.example.jp>"),
], crlf(MISLABELLED).encode("cp932"), 'text/plain; charset="Shift_JIS"', "8bit")

# The same form, ISO-2022-JP declared, body CP50220 (NEC row 13 and an IBM extension), quoted-printable would be odd: 7bit.
mail("website_cp50220.eml", [
    ("From", "form@acme.example.jp"),
    ("To", "info@acme.example.jp"),
    ("Subject", "=?ISO-2022-JP?B?" + base64.b64encode(cp50220("【ホームページ】お問い合わせ")).decode() + "?="),
    ("Date", "Sun, 06 Dec 2026 11:30:00 +0900"),
    ("Message-ID", "<form-0044@acme.example.jp>"),
], cp50220(crlf(MISLABELLED.replace("W-20261206-0043", "W-20261206-0044").replace("045-123-4567", "045-123-9999")
                    .replace("takahashi@", "takahashi2@"))), 'text/plain; charset="ISO-2022-JP"', "7bit")

# UTF-8 quoted-printable, multipart/alternative (plain + html): the form's plain part is read.
QP_TEXT = """\
お問い合わせ番号：W-20261206-0045
お名前：田中 美咲
フリガナ：タナカ ミサキ
電話番号：090-5555-6666
メールアドレス：misaki@example.jp
物件番号：A-1001
物件名：グランシティ目黒 203
お問い合わせ内容：空室確認をお願いします。
"""
QP_HTML = "<html><body><p>" + QP_TEXT.replace("\n", "<br>\n") + "</p></body></html>"
boundary = "=_alt_boundary_0045"
body = (
    f"--{boundary}\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n".encode()
    + quopri.encodestring(crlf(QP_TEXT).encode("utf-8"))
    + f"\r\n--{boundary}\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n".encode()
    + quopri.encodestring(crlf(QP_HTML).encode("utf-8"))
    + f"\r\n--{boundary}--\r\n".encode()
)
(out / "website_utf8_qp_alternative.eml").write_bytes(("\r\n".join([
    "From: =?UTF-8?Q?=E3=82=A8=E3=82=A4=E3=82=AB=E3=83=BC?= <form@acme.example.jp>",
    "To: info@acme.example.jp",
    "Subject: =?UTF-8?Q?=E3=81=8A=E5=95=8F=E3=81=84=E5=90=88=E3=82=8F=E3=81=9B?=",
    "Date: Sun, 06 Dec 2026 12:00:00 +0900",
    "Message-ID: <form-0045@acme.example.jp>",
    "MIME-Version: 1.0",
    f'Content-Type: multipart/alternative; boundary="{boundary}"',
]) + "\r\n\r\n").encode() + body)

# HTML-only (a table, entities), UTF-8 base64.
HTML = """\
<!DOCTYPE html><html><head><meta charset="utf-8"><title>お問い合わせ</title>
<style>td { padding: 4px }</style></head><body>
<p>ホームページからお問い合わせがありました。</p>
<table border="1">
<tr><th>お問い合わせ番号</th><td>W-20261206-0046</td></tr>
<tr><th>お名前</th><td>
  伊藤&nbsp;健太
</td></tr>
<tr><th>フリガナ</th><td>イトウ ケンタ</td></tr>
<tr><th>電話番号</th><td>070-1111-2222</td></tr>
<tr><th>メールアドレス</th><td><a href="mailto:kenta&#64;example.jp">kenta&#64;example.jp</a></td></tr>
<tr><th>物件名</th><td>コーポ&amp;ハイツ池尻 2F</td></tr>
<tr><th>お問い合わせ内容</th><td>内見希望です。<br>平日&lt;18時以降&gt;が都合よいです。</td></tr>
</table>
<hr><p>エイカー不動産</p>
</body></html>
"""
mail("website_html_only.eml", [
    ("From", "form@acme.example.jp"),
    ("To", "info@acme.example.jp"),
    ("Subject", b_word("【ホームページ】お問い合わせ", "UTF-8")),
    ("Date", "Sun, 06 Dec 2026 13:00:00 +0900"),
    ("Message-ID", "<form-0046@acme.example.jp>"),
], base64.encodebytes(crlf(HTML).encode("utf-8")), 'text/html; charset="UTF-8"', "base64")

# A portal read by labels alone (LIFULL HOME'S-like: 【label】 and the value on the next line); ISO-2022-JP.
PORTAL = """\
エイカー不動産 渋谷店 様

HOME'Sをご利用いただき、ありがとうございます。
下記のお客様から物件のお問い合わせがありました。

【問合せ番号】
H-778899
【お問合せ種別】
空室確認
【物件番号】
HM-55501
【物件名】
シティハウス代官山 405
【賃料】
125,000円
【間取り】
2LDK
【交通】
東急東横線「代官山」駅 徒歩4分
【所在地】
東京都渋谷区代官山町１－１

【お名前】
中村 優子
【お名前（カナ）】
ナカムラ ユウコ
【電話番号】
０９０－７７７７－８８８８
【メールアドレス】
yuko.nakamura@example.org
【お問合せ内容】
2人で住む予定です。
初期費用の目安を教えてください。

====================
LIFULL HOME'S
"""
mail("portal_labels_only.eml", [
    ("From", f"{b_word('ホームズ', 'ISO-2022-JP', 'iso2022_jp')} <toiawase@portal-homes.example.jp>"),
    ("To", "shibuya@acme.example.jp"),
    ("Subject", b_word("【HOME'S】お客様からの問合せ", "ISO-2022-JP", "iso2022_jp")),
    ("Date", "Sun, 06 Dec 2026 14:00:00 +0900"),
    ("Message-ID", "<homes-778899@portal-homes.example.jp>"),
], cp50220(crlf(PORTAL)), 'text/plain; charset="ISO-2022-JP"', "7bit")

# A form mail without Message-ID (UTF-8 8bit).
NO_ID = """\
お名前：小林 誠
電話番号：090-3333-4444
お問い合わせ内容：売却の相談をしたいです。
"""
mail("website_no_message_id.eml", [
    ("From", "form@acme.example.jp"),
    ("To", "info@acme.example.jp"),
    ("Subject", b_word("【ホームページ】お問い合わせ", "UTF-8")),
    ("Date", "Sun, 06 Dec 2026 15:00:00 +0900"),
], crlf(NO_ID).encode("utf-8"), 'text/plain; charset="UTF-8"', "8bit")

# No source recognizes it (a newsletter).
mail("newsletter_unmatched.eml", [
    ("From", "news@vendor.example.com"),
    ("To", "info@acme.example.jp"),
    ("Subject", b_word("【新着物件のご紹介】今週のおすすめ", "ISO-2022-JP", "iso2022_jp")),
    ("Date", "Sun, 06 Dec 2026 16:00:00 +0900"),
    ("Message-ID", "<news-1@vendor.example.com>"),
], crlf("好条件の物件が出ましたのでご案内いたします。\n物件名：アグライア久が原\n").encode("iso2022_jp"),
    'text/plain; charset="ISO-2022-JP"', "7bit")

# Recognized (SUUMO) but no customer data: a JDS notice without 反響情報.
mail("suumo_without_customer.eml", [
    ("From", "SUUMO <system@jds.suumo.jp>"),
    ("To", "shibuya@acme.example.jp"),
    ("Subject", b_word("[リクルートＪＤＳ]反響お知らせメール", "ISO-2022-JP", "iso2022_jp")),
    ("Date", "Sun, 06 Dec 2026 17:00:00 +0900"),
    ("Message-ID", "<20261206170000.notice@jds.suumo.jp>"),
], crlf("株式会社エイカー不動産 御中\n反響がありました。詳細はJDSでご確認ください。\nhttps://jds.suumo.jp/\n").encode("iso2022_jp"),
    'text/plain; charset="ISO-2022-JP"', "7bit")
