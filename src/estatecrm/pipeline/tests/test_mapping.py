import pytest

from estatecrm.pipeline.mapping import FieldSpec, check_mapping, column_indexes, fold_header, suggest_mapping

FIELDS = [
    FieldSpec("lead_name", "リード名", ("会社名", "世帯名", "法人名", "company"), is_required=True),
    FieldSpec("contact_name", "連絡先名", ("担当者", "氏名", "お名前", "連絡先", "name"), is_required=True),
    FieldSpec("phone", "電話番号", ("電話", "TEL", "携帯", "phone"), is_required=True),
    FieldSpec("contact_kana", "フリガナ", ("カナ", "ふりがな", "kana")),
    FieldSpec("postal_code", "郵便番号", ("〒", "zip")),
    FieldSpec("email", "メールアドレス", ("メール", "E-mail", "mail")),
]


@pytest.mark.parametrize(
    ("header", "folded"),
    [("ＴＥＬ", "tel"), (" 電話 番号 ", "電話番号"), ("E-Mail", "email"), ("お名前（フリガナ）", "お名前フリガナ"), ("〒", "〒")],
)
def test_fold_header(header, folded):
    assert fold_header(header) == folded


def test_suggests_from_japanese_and_english_headers():
    headers = ["会社名", "ご担当者", "ＴＥＬ", "フリガナ", "〒", "E-mail", "備考"]
    assert suggest_mapping(headers, FIELDS) == {
        "lead_name": "会社名", "contact_name": "ご担当者", "phone": "ＴＥＬ", "contact_kana": "フリガナ",
        "postal_code": "〒", "email": "E-mail",
    }


def test_each_header_feeds_one_field():
    assert suggest_mapping(["電話番号", "携帯電話"], FIELDS) == {"phone": "電話番号"}


def test_check_mapping_reports_unknown_and_missing():
    problems = check_mapping({"lead_name": "会社名", "phone": "ない列", "nope": "x"}, ["会社名"], FIELDS)
    assert problems == {"phone": "unknown_header", "nope": "unknown_field", "contact_name": "required_field_unmapped"}


def test_column_indexes():
    assert column_indexes({"phone": "TEL", "lead_name": "会社名"}, ["会社名", "TEL", "TEL"]) == {"phone": 1, "lead_name": 0}


def test_a_header_that_names_several_columns_cannot_be_mapped():
    # given: two columns named 電話番号 (which one is the phone?), and two unmapped empty headers
    headers = ["会社名", "担当者", "電話番号", "電話番号", "", ""]
    # when
    problems = check_mapping({"lead_name": "会社名", "contact_name": "担当者", "phone": "電話番号"}, headers, FIELDS)
    # then
    assert problems == {"phone": "duplicate_header"}
