"""LeadConverter (the reading process's conversion) against the general path: convert_row as it was, one
row at a time with every lookup of the mapping repeated per row."""

import datetime
import json
import pickle
import random
import unicodedata

import pytest

from estatecrm.crm.custom_fields import clean_custom_value
from estatecrm.leads.converter import (
    CASE_KIND_WORDS,
    CUSTOMER_KIND_WORDS,
    LeadConverter,
    LeadRow,
    cached_postal_code,
    cached_prefecture,
    check_lengths,
    convert_row,
    phone_text,
)
from estatecrm.leads.fields import CUSTOM_PREFIX, NOTE_PREFIX
from estatecrm.leads.jobs import to_json
from estatecrm.normalize import (
    clean_text,
    company_name_key,
    normalize_email,
    normalize_name,
    normalize_phone,
    normalize_reading,
    parse_date,
)
from estatecrm.pipeline.readers import cell_text


def reference_convert_row(row_number, cells, columns, custom_fields, region="JP", headers=()) -> LeadRow:
    def text(key):
        index = columns.get(key)
        if index is None or index >= len(cells):
            return ""
        cell = cells[index]
        if cell.__class__ is str:
            return cell.strip().strip("\u3000").replace("\x00", "") if cell else ""
        return clean_text(cell_text(cell))

    lead = LeadRow(row_number=row_number, cells=cells)
    lead.contact_name = normalize_name(text("contact_name"))
    lead.is_named_after_contact = "lead_name" not in columns
    lead.lead_name = lead.contact_name if lead.is_named_after_contact else normalize_name(text("lead_name"))
    lead.lead_key = company_name_key(lead.lead_name)
    if not lead.lead_name and "lead_name" in columns:
        lead.errors.append(("lead_name", "lead_name_missing"))
    if not lead.contact_name:
        lead.errors.append(("contact_name", "contact_name_missing"))
    phone_index = columns.get("phone")
    lead.phone_raw = clean_text(phone_text(cells[phone_index])) if phone_index is not None and phone_index < len(cells) else ""
    if not lead.phone_raw:
        lead.errors.append(("phone", "phone_missing"))
    else:
        phone = normalize_phone(lead.phone_raw, region)
        if phone.is_valid:
            lead.phone = phone.value
        else:
            lead.errors.append(("phone", "phone_invalid"))
    kana = text("contact_kana")
    if kana:
        reading = normalize_reading(kana)
        lead.contact_kana = reading.value if reading.is_valid else kana
    lead.email_raw = text("email")
    if lead.email_raw:
        email = normalize_email(lead.email_raw)
        if email.is_valid:
            lead.email = email.value
        else:
            lead.errors.append(("email", "email_invalid"))
    for key, normalize in (("postal_code", cached_postal_code), ("prefecture", cached_prefecture)):
        value = text(key)
        if value:
            result = normalize(value)
            if result.is_valid:
                setattr(lead, key, result.value)
            else:
                lead.errors.append((key, f"{key}_invalid"))
    lead.city, lead.street, lead.building = text("city"), text("street"), text("building")
    lead.homepage = text("homepage")
    lead.assignee_email = text("assignee_email").lower()
    lead.first_inquiry_source = text("first_inquiry_source")
    for key in ("first_inquiry_date", "birth_date"):
        index = columns.get(key)
        raw = cells[index] if index is not None and index < len(cells) else None
        if raw is not None and (raw.__class__ is not str or raw.strip()):
            day = parse_date(raw if raw.__class__ is not str else clean_text(raw))
            if day.is_valid:
                setattr(lead, key, day.value)
            else:
                lead.errors.append((key, "date_invalid"))
    for key, words in (("case_kind", CASE_KIND_WORDS), ("customer_kind", CUSTOMER_KIND_WORDS)):
        word = unicodedata.normalize("NFKC", text(key)).lower()
        if word:
            if word in words:
                setattr(lead, key, words[word])
            else:
                lead.errors.append((key, f"{key}_invalid"))
    notes = [(key, index) for key, index in columns.items() if key == "note" or key.startswith(NOTE_PREFIX)]
    if notes:
        lines = []
        for key, index in notes:
            value = text(key)
            if value:
                label = headers[index] if index < len(headers) and headers[index] else key.partition(":")[2] or key
                lines.append(f"{label}: {value}")
        lead.note = "\n".join(lines)
    check_lengths(lead)
    for key, index in columns.items():
        if not key.startswith(CUSTOM_PREFIX):
            continue
        name = key[len(CUSTOM_PREFIX):]
        field_type, choices = custom_fields[name]
        raw = cells[index] if index < len(cells) else None
        try:
            value = clean_custom_value(field_type, choices, cell_text(raw) if isinstance(raw, str) or raw is None else raw)
        except ValueError:
            lead.errors.append((key, "custom_value_invalid"))
            continue
        if value is not None:
            lead.custom[name] = value
    return lead


CUSTOM_FIELDS = {
    "所有物件数": ("number", []), "メモ欄": ("text", []), "入居希望日": ("date", []), "ペット可": ("boolean", []),
    "間取り": ("choice", ["1K", "2LDK"]), "設備": ("multi_choice", ["駐車場", "宅配ボックス"]),
}
KEYS = (
    "lead_name", "contact_name", "phone", "contact_kana", "postal_code", "prefecture", "city", "street", "building",
    "email", "homepage", "assignee_email", "first_inquiry_date", "first_inquiry_source", "birth_date", "note",
    "case_kind", "customer_kind", "note:紹介者", "note:", *(CUSTOM_PREFIX + name for name in CUSTOM_FIELDS),
)
CELLS = [
    "", " ", "\u3000", None, "株式会社 佐藤商事", "佐藤　太郎", " 山田  花子 ", "ﾔﾏﾀﾞ ﾀﾛｳ", "やまだ　たろう", "Yamada",
    "090-1234-5678", "０３（１２３４）５６７８", "+81 (0)90-1234-5678", "090-12", "電話なし", "user@example.jp",
    "ＵＳＥＲ＠ＥＸＡＭＰＬＥ．ＪＰ", "a@b", "〒150-0002", "1500002", "15000", "東京都", "東京", "大阪府", "ニューヨーク",
    "2024/4/1", "令和6年4月1日", "H31.5.1", "2024-13-01", "賃貸", "売買", "法人", "個人", "その他", "3", "1,234",
    "abc", "はい", "×", "1K", "3LDK", "駐車場;宅配ボックス", "駐車場;庭", "x" * 300, "長い" * 150, "\x00佐藤",
    9012345678, 9012345678.0, 3, 2.5, True, 45000, datetime.date(2024, 4, 1), datetime.datetime(2024, 4, 1, 9, 30),
    float("nan"), "=1+2", "https://example.jp", "Sales@Example.JP",
]


# What each column usually holds; any cell of CELLS otherwise.
GOOD_CELLS = {
    "lead_name": ["株式会社 佐藤商事", "佐藤家", "㈱ＡＢＣ"], "contact_name": ["佐藤　太郎", "山田 花子"],
    "phone": ["090-1234-5678", "03-1234-5678", "０４５－１２３－４５６７", 9012345678], "contact_kana": ["ﾔﾏﾀﾞ ﾀﾛｳ", ""],
    "postal_code": ["150-0002", "〒1500002", ""], "prefecture": ["東京都", "大阪府", ""], "email": ["user@example.jp", ""],
    "first_inquiry_date": ["2024/4/1", "", datetime.date(2024, 4, 1)], "case_kind": ["賃貸", ""], "customer_kind": ["法人", ""],
    CUSTOM_PREFIX + "所有物件数": ["3", "", 2], CUSTOM_PREFIX + "ペット可": ["はい", ""],
}


def mapping_corpus(rng: random.Random) -> tuple[dict, list[str]]:
    """A mapping of some of the keys to columns (in any order, some past the row's end) and the headers."""
    keys = [key for key in KEYS if rng.random() < 0.7 or key in ("contact_name", "phone")]
    rng.shuffle(keys)
    width = len(keys) + rng.randint(0, 3)
    columns = dict(zip(keys, rng.sample(range(width), len(keys)), strict=True))
    headers = [rng.choice(("", f"列{index}", "紹介者")) for index in range(width - rng.randint(0, 2))]
    return columns, headers


@pytest.mark.parametrize("seed", range(6))
def test_converter_agrees_with_the_general_path_on_a_large_corpus(seed):
    # given: a mapping and thousands of rows of realistic and hostile cells, some rows short
    rng = random.Random(seed)
    columns, headers = mapping_corpus(rng)
    width = max(columns.values()) + 1
    key_of = {index: key for key, index in columns.items()}

    def cell(index):
        good = GOOD_CELLS.get(key_of.get(index), ["", "なにか"])
        return rng.choice(good) if rng.random() < 0.9 else rng.choice(CELLS)

    rows = [tuple(cell(index) for index in range(width - (rng.random() < 0.1) * rng.randint(1, width))) for _ in range(3000)]
    converter = LeadConverter(columns, CUSTOM_FIELDS, "JP", headers)
    # when
    converted = [converter.convert(number, cells) for number, cells in enumerate(rows, start=2)]
    expected = [reference_convert_row(number, cells, columns, CUSTOM_FIELDS, "JP", headers) for number, cells in enumerate(rows, start=2)]
    # then
    assert [index for index, (lead, reference) in enumerate(zip(converted, expected, strict=True)) if lead != reference] == []
    assert sum(lead.is_valid for lead in converted) > 100
    assert {code for lead in converted for _key, code in lead.errors} >= {"phone_invalid", "too_long"}


def test_convert_row_is_the_converter_of_its_mapping():
    # given
    columns = {"contact_name": 0, "phone": 1, "note:紹介者": 2}
    # when
    lead = convert_row(7, ("佐藤　太郎", "090-1234-5678", "田中"), columns, {}, "JP", ("担当者", "電話", "紹介者"))
    # then
    assert lead == LeadRow(row_number=7, cells=("佐藤　太郎", "090-1234-5678", "田中"), lead_name="佐藤 太郎",
                           lead_key="佐藤太郎", is_named_after_contact=True, contact_name="佐藤 太郎",
                           phone_raw="090-1234-5678", phone="+819012345678", note="紹介者: 田中")


def test_json_of_the_reading_process_is_what_json_dumps_makes():
    # given: custom values and failing rows' cells as the reading process encodes them
    values = [
        {}, {"所有物件数": 3}, {"所有物件数": 2.5, "メモ": "日当たり良好\n駅近", "ペット可": True, "設備": ["駐車場", "宅配ボックス"]},
        ["佐藤", None, 3, 2.5, False, float("nan"), float("inf"), "\x00", "\u3000", "\"引用\"", "\\", "\ud800"],
        {"キー": {"入れ子": [1, {"深い": None}]}}, "", "𠮷野家", 10**30,
    ]
    # when / then
    assert [to_json(value) for value in values] == [json.dumps(value, ensure_ascii=False) for value in values]


def test_a_row_crosses_to_the_writing_process_unchanged():
    # given: rows with every kind of value (errors, custom values, dates, notes, the original cells)
    rng = random.Random(7)
    columns, headers = mapping_corpus(rng)
    width = max(columns.values()) + 1
    converter = LeadConverter(columns, CUSTOM_FIELDS, "JP", headers)
    leads = [converter.convert(number, tuple(rng.choice(CELLS) for _ in range(width))) for number in range(2, 502)]
    leads[0].custom_json, leads[0].cells_json = '{"所有物件数": 3}', '["佐藤"]'
    # when
    received = pickle.loads(pickle.dumps(leads, pickle.HIGHEST_PROTOCOL))
    # then (compared by repr: a NaN cell is not equal to itself once it is another object)
    assert [repr(lead) for lead in received] == [repr(lead) for lead in leads]
    assert all(type(lead) is LeadRow for lead in received)
    assert {type(lead.first_inquiry_date) for lead in received} >= {datetime.date, type(None)}
