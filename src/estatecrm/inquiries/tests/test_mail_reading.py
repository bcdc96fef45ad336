"""Reading inquiry mail: the committed .eml files decode (charsets, transfer encodings, HTML) and their
labels give the fields; the label rules of issue 11. No database."""

import base64
import hashlib
from pathlib import Path

import pytest

from estatecrm.inquiries.mail import (
    decode_bytes,
    decode_header,
    decode_mail,
    html_to_text,
    jis_to_text,
    read_labels,
    tidy_fields,
)
from estatecrm.inquiries.presets import PRESETS

MAILS = Path(__file__).parent / "mails"
PORTAL_LABELS = {
    "問合せ番号": "inquiry_id", "お問合せ種別": "inquiry_type", "物件番号": "listing_ref", "物件名": "listing_name", "賃料": "listing_price",
    "間取り": "listing_layout", "交通": "listing_station", "所在地": "listing_address", "お名前": "customer_name",
    "お名前(カナ)": "customer_kana", "電話番号": "phone", "メールアドレス": "email", "お問合せ内容": "message",
}


def read(name: str, labels: dict) -> dict:
    return tidy_fields(read_labels(decode_mail((MAILS / name).read_bytes()).text, labels))


def test_suumo_iso2022jp_mail_reads_both_blocks():
    mail = decode_mail((MAILS / "suumo_iso2022jp.eml").read_bytes())
    assert (mail.sender, mail.subject) == ("リクルートJDS <system@jds.suumo.jp>", "[リクルートＪＤＳ]反響お知らせメール")
    assert mail.message_id == "20261206101504.R0001234567@jds.suumo.jp" and mail.date.isoformat() == "2026-12-06T10:15:04+09:00"
    assert read_labels(mail.text, PRESETS["suumo"]) == {
        "received_at": "2026/12/06 10:15:00", "inquiry_id": "R0001234567", "inquiry_type": "SUUMOネット/賃貸物件枠問い合わせ",
        "listing_ref": "100012345678", "listing_name": "パークハイツ渋谷 302", "listing_station": "ＪＲ山手線/渋谷 歩7分",
        "listing_address": "東京都渋谷区道玄坂１丁目", "listing_price": "8.5万円", "listing_layout": "1LDK", "listing_area": "35.2m2",
        "customer_name": "山田 花子", "customer_kana": "ヤマダ ハナコ", "email": "hanako@example.jp", "phone": "090-1234-5678",
        "message": "今週末に内見できますか。\n駐車場の空きも教えてください。",
    }


def test_suumo_sales_mail_in_utf8_base64_reads_price_and_sales_labels():
    fields = read("suumo_buy_utf8_base64.eml", PRESETS["suumo"])
    assert (fields["listing_price"], fields["customer_name"], fields["customer_kana"], fields["phone"]) == (
        "3,980万円", "佐藤 一郎", "サトウ イチロウ", "03-1234-5678")
    assert fields["listing_area"] == "70.12m2（壁芯）" and fields["inquiry_id"] == "R0009876543"


def test_shift_jis_form_with_bracket_labels_and_two_message_labels():
    mail = decode_mail((MAILS / "website_shift_jis.eml").read_bytes())
    assert mail.sender == "エイカー不動産 ホームページ <form@acme.example.jp>" and mail.subject == "【ホームページ】お問い合わせがありました"
    fields = tidy_fields(read_labels(mail.text, PRESETS["website"]))
    assert fields == {
        "inquiry_id": "W-20261206-0042", "received_at": "2026/12/06 09:05:00", "inquiry_type": "来店予約", "customer_name": "鈴木 次郎",
        "customer_kana": "スズキ ジロウ", "phone": "080-2222-3333", "email": "jiro.suzuki@example.ne.jp", "listing_name": "メゾン恵比寿 101",
        "desired_move_in": "1ヶ月以内",
        "message": "土曜日の午後に来店したいです。\nペット（小型犬）は相談できますか。\n\n駅から近いところを希望します。",
    }


@pytest.mark.parametrize("name", ["website_mislabelled_cp932.eml", "website_cp50220.eml"])
def test_mislabelled_cp932_keeps_nec_and_ibm_characters(name):
    mail = decode_mail((MAILS / name).read_bytes())
    fields = read_labels(mail.text, PRESETS["website"])
    assert fields["customer_name"] == "髙橋 一郎"
    assert fields["message"] == "①㈱髙橋商事の社宅として2部屋探しています。\n②駅から徒歩10分以内を希望します。"
    assert "\ufffd" not in mail.text and "\ufffd" not in mail.subject
    if name == "website_mislabelled_cp932.eml":
        assert mail.sender == "髙橋 一郎 ① <form@acme.example.jp>" and mail.subject == "【ホームページ】お問い合わせ ㈱髙橋商事"


def test_quoted_printable_alternative_reads_the_plain_part():
    mail = decode_mail((MAILS / "website_utf8_qp_alternative.eml").read_bytes())
    assert "<br>" not in mail.text and mail.subject == "お問い合わせ"
    assert read_labels(mail.text, PRESETS["website"])["listing_ref"] == "A-1001"


def test_html_only_mail_is_read_as_text():
    fields = read("website_html_only.eml", PRESETS["website"])
    assert fields == {"inquiry_id": "W-20261206-0046", "customer_name": "伊藤 健太", "customer_kana": "イトウ ケンタ", "phone": "070-1111-2222",
                      "email": "kenta@example.jp", "listing_name": "コーポ&ハイツ池尻 2F", "message": "内見希望です。\n平日<18時以降>が都合よいです。"}


def test_portal_labels_with_values_on_the_next_line():
    fields = read("portal_labels_only.eml", PORTAL_LABELS)
    assert fields == {
        "inquiry_id": "H-778899", "inquiry_type": "空室確認", "listing_ref": "HM-55501", "listing_name": "シティハウス代官山 405",
        "listing_price": "125,000円", "listing_layout": "2LDK", "listing_station": "東急東横線「代官山」駅 徒歩4分",
        "listing_address": "東京都渋谷区代官山町１－１", "customer_name": "中村 優子", "customer_kana": "ナカムラ ユウコ",
        "phone": "090-7777-8888", "email": "yuko.nakamura@example.org", "message": "2人で住む予定です。\n初期費用の目安を教えてください。",
    }


def test_mail_without_message_id_is_known_by_its_bytes():
    raw = (MAILS / "website_no_message_id.eml").read_bytes()
    assert decode_mail(raw).message_id == "sha256:" + hashlib.sha256(raw).hexdigest()


def test_label_rules():
    labels = {"お名前": "customer_name", "名前(カナ)": "customer_kana", "TEL": "phone", "お問い合わせ内容": "message", "メールアドレス": "email"}
    text = "\n".join([
        "◆ お名前 ： 山田　太郎",        # mark, spaces, full-width colon
        "名前（カナ）",                    # full-width brackets, value on the next non-empty line
        "",
        "ヤマダ タロウ",
        "●ＴＥＬ　090-1111-2222",          # full-width label, separated by a space
        "TELEPHONE: 03-0000-0000",        # not the label TEL
        "・メールアドレス：",               # empty rest, next line is a label: no value
        "【お問い合わせ内容】よろしく",
        "お願いします。",
        "====",
        "フッター",
    ])
    assert read_labels(text, labels) == {"customer_name": "山田　太郎", "customer_kana": "ヤマダ タロウ", "phone": "090-1111-2222",
                                         "message": "よろしく\nお願いします。"}


def test_message_stops_at_the_next_label_and_at_separators():
    labels = {"ご質問": "message", "お名前": "customer_name"}
    assert read_labels("ご質問:\nA\nB\nお名前:X", labels) == {"message": "A\nB", "customer_name": "X"}
    assert read_labels("ご質問 A\n━━━━━━\nお名前 X", labels) == {"message": "A", "customer_name": "X"}
    assert read_labels("ご質問 A\n----\nB", labels) == {"message": "A"}


def test_labels_written_with_marks_in_the_map_and_dash_values():
    assert read_labels("お名前：-\n電話番号：03-1234-5678", {"【お名前】": "customer_name", "電話番号": "phone"}) == {"phone": "03-1234-5678"}


def test_longer_label_wins_and_a_label_must_end_at_a_separator():
    labels = {"お名前": "customer_name", "お名前(フリガナ)": "customer_kana"}
    assert read_labels("お名前(フリガナ)：ヤマダ\nお名前：山田", labels) == {"customer_kana": "ヤマダ", "customer_name": "山田"}
    assert read_labels("お名前欄：山田", {"お名前": "customer_name"}) == {}


def test_list_marks_and_quotes_before_labels():
    labels = {"お名前": "customer_name", "電話番号": "phone", "メールアドレス": "email"}
    assert read_labels("- お名前: 山田\n> ＊電話番号：03-1234-5678\n> > ▪メールアドレス a@example.jp", labels) == {
        "customer_name": "山田", "phone": "03-1234-5678", "email": "a@example.jp"}


def test_half_width_kana_label():
    assert read_labels("ﾌﾘｶﾞﾅ：ﾔﾏﾀﾞ ﾀﾛｳ", {"フリガナ": "customer_kana"}) == {"customer_kana": "ﾔﾏﾀﾞ ﾀﾛｳ"}


def test_tidy_fields_phone_email_and_japanese_dates():
    assert tidy_fields({"phone": "０９０－１２３４－５６７８（携帯）", "email": "メール: a.b@example.jp (PC)",
                        "received_at": "2026年12月6日（日）10時15分"}) == {
        "phone": "090-1234-5678", "email": "a.b@example.jp", "received_at": "2026/12/06 10:15:00"}
    assert tidy_fields({"received_at": "昨日の夜"}) == {}


def test_decode_bytes_falls_back_through_the_charsets():
    text = "髙橋①㈱"
    assert decode_bytes(text.encode("cp932"), "shift_jis") == text
    assert decode_bytes(text.encode("cp932"), "utf-8") == text           # mislabelled UTF-8
    assert decode_bytes(text.encode("utf-8"), "iso-2022-jp") == text     # mislabelled ISO-2022-JP
    assert decode_bytes("山田".encode("iso2022_jp"), "") == "山田"        # undeclared JIS escapes
    assert decode_bytes("ｶﾀｶﾅ".encode("cp932"), "x-unknown-charset") == "ｶﾀｶﾅ"
    assert jis_to_text(b"\x1b$B$3$s\x1b(B ok") == "こん ok"


def test_decode_header_encoded_words():
    jis = base64.b64encode("山田".encode("iso2022_jp")).decode()
    sjis = base64.b64encode("髙橋①".encode("cp932")).decode()
    assert decode_header(f"=?ISO-2022-JP?B?{jis}?= <a@b.jp>") == "山田 <a@b.jp>"
    assert decode_header(f"=?shift_jis?B?{sjis}?=\r\n =?shift_jis?B?{sjis}?=") == "髙橋①髙橋①"
    assert decode_header("=?UTF-8?Q?=E5=B1=B1=E7=94=B0?= <a@b.jp>") == "山田 <a@b.jp>"
    assert decode_header("plain subject") == "plain subject"


def test_html_to_text_rows_cells_breaks_and_entities():
    markup = "<div>A&nbsp;&amp;&#x3042;</div><table><tr><th>お名前</th><td>\n 山田\n</td></tr><tr><td>x</td><td>1<br/>2</td></tr></table>"
    assert html_to_text(markup) == "A &あ\n\nお名前 山田\n\nx 1\n2"
