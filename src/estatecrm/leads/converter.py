"""One source row -> a canonical lead row with its per-field errors (pure: no database)."""

import datetime
import operator
import unicodedata
from dataclasses import dataclass, field, fields
from functools import lru_cache

from estatecrm.crm.choices import CaseKind, CustomerKind
from estatecrm.crm.custom_fields import clean_custom_value
from estatecrm.leads.fields import CUSTOM_PREFIX, NOTE_PREFIX, field_max_lengths
from estatecrm.normalize import (
    clean_text,
    company_name_key,
    normalize_email,
    normalize_name,
    normalize_phone,
    normalize_postal_code,
    normalize_prefecture,
    normalize_reading,
    parse_date,
)
from estatecrm.pipeline.readers import cell_text

FAILURE_CODES = (
    "lead_name_missing", "contact_name_missing", "phone_missing", "phone_invalid", "email_invalid", "custom_value_invalid",
    "postal_code_invalid", "prefecture_invalid", "assignee_unknown", "too_long", "date_invalid", "case_kind_invalid",
    "customer_kind_invalid",
)
# The values checked against their column's length: field key -> the LeadRow attributes stored from it
# (as stored: normalized, so the check sees what the database would).
STORED_VALUES = {
    "lead_name": ("lead_name", "lead_key"), "contact_name": ("contact_name",), "phone": ("phone_raw", "phone"),
    "contact_kana": ("contact_kana",), "postal_code": ("postal_code",), "prefecture": ("prefecture",), "city": ("city",),
    "street": ("street",), "building": ("building",), "email": ("email_raw", "email"), "homepage": ("homepage",),
    "first_inquiry_source": ("first_inquiry_source",),
}
# The words a kind column may hold (folded: NFKC, lower case), per kind. An empty cell takes the import's kind.
CASE_KIND_WORDS = {
    **dict.fromkeys(("賃貸", "借", "賃", "rent", "rental"), CaseKind.RENT.value),
    **dict.fromkeys(("売買", "買", "購入", "売", "buy", "sale", "sales"), CaseKind.BUY.value),
}
CUSTOMER_KIND_WORDS = {
    **dict.fromkeys(("個人", "個", "person", "private"), CustomerKind.PERSON.value),
    **dict.fromkeys(("世帯", "家族", "household"), CustomerKind.HOUSEHOLD.value),
    **dict.fromkeys(("法人", "会社", "企業", "法", "company", "corporate"), CustomerKind.COMPANY.value),
}


# Lists repeat the same postal codes and prefectures on many rows.
cached_postal_code = lru_cache(maxsize=8192)(normalize_postal_code)
cached_prefecture = lru_cache(maxsize=256)(normalize_prefecture)


@dataclass
class LeadRow:
    row_number: int
    cells: tuple
    lead_name: str = ""
    lead_key: str = ""
    is_named_after_contact: bool = False
    contact_name: str = ""
    contact_kana: str = ""
    phone_raw: str = ""
    phone: str = ""
    email_raw: str = ""
    email: str = ""
    postal_code: str = ""
    prefecture: str = ""
    city: str = ""
    street: str = ""
    building: str = ""
    homepage: str = ""
    assignee_email: str = ""
    # From the row's own kind columns; empty: the import's kinds.
    case_kind: str = ""
    customer_kind: str = ""
    first_inquiry_date: datetime.date | None = None
    first_inquiry_source: str = ""
    birth_date: datetime.date | None = None
    note: str = ""  # `column: value` lines of the columns kept as notes
    custom: dict = field(default_factory=dict)
    # Encoded by the reading process for the writer (JSON column text): the custom values, and the
    # original cells of a row that failed there.
    custom_json: str = ""
    cells_json: str = ""
    errors: list[tuple[str, str]] = field(default_factory=list)  # (field key, reason code)

    @property
    def is_valid(self) -> bool:
        return not self.errors

    def __reduce__(self):
        # Rows cross to the writing process pickled, thousands a batch: as their values in field order
        # (unpickled by one __init__ call), not as a dict of names and values set one by one (~2 µs a row more).
        return LeadRow, _lead_row_values(self)


_lead_row_values = operator.attrgetter(*(each.name for each in fields(LeadRow)))


def phone_text(cell) -> str:
    """A phone cell as text; an Excel number cell lost its leading 0 (9012345678 -> 09012345678)."""
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        digits = cell_text(cell)
        return "0" + digits if len(digits) in (9, 10) and not digits.startswith("0") else digits
    return cell_text(cell)


def convert_row(row_number: int, cells: tuple, columns: dict[str, int], custom_fields: dict, region: str = "JP",
                headers=()) -> LeadRow:
    """Normalize and validate one row. `columns` maps field keys to cell indexes; `custom_fields` maps a
    custom field name to (field_type, choices); `headers` label the notes. Without a lead name column,
    the lead is named after its contact (a list of people)."""
    return LeadConverter(columns, custom_fields, region, headers).convert(row_number, cells)


def cell_string(cells: tuple, index: int | None) -> str:
    """The text of a mapped cell, trimmed; `` for an unmapped column or a short row."""
    if index is None or index >= len(cells):
        return ""
    cell = cells[index]
    if cell.__class__ is str:  # the common case: skip the generic conversions (strip() takes U+3000 too)
        return cell.strip().replace("\x00", "") if cell else ""
    return clean_text(cell_text(cell))


class LeadConverter:
    """`convert_row` for the rows of one file: what the mapping means (cell indexes, note labels, custom
    fields) is worked out once, not per row; the reading process converts a whole list with one."""

    def __init__(self, columns: dict[str, int], custom_fields: dict, region: str = "JP", headers=()):
        index = columns.get
        self.custom_fields = custom_fields
        self.region = region
        self.is_named_after_contact = "lead_name" not in columns
        self.lead_name, self.contact_name, self.phone = index("lead_name"), index("contact_name"), index("phone")
        self.contact_kana, self.email = index("contact_kana"), index("email")
        self.postal_code, self.prefecture = index("postal_code"), index("prefecture")
        self.city, self.street, self.building = index("city"), index("street"), index("building")
        self.homepage, self.assignee_email = index("homepage"), index("assignee_email")
        self.first_inquiry_source = index("first_inquiry_source")
        self.dates = tuple((key, columns[key]) for key in ("first_inquiry_date", "birth_date") if key in columns)
        self.kinds = tuple(
            (key, columns[key], words)
            for key, words in (("case_kind", CASE_KIND_WORDS), ("customer_kind", CUSTOMER_KIND_WORDS)) if key in columns
        )
        self.notes = tuple(
            (headers[position] if position < len(headers) and headers[position] else key.partition(":")[2] or key, position)
            for key, position in columns.items() if key == "note" or key.startswith(NOTE_PREFIX)
        )
        self.custom = tuple((key, key[len(CUSTOM_PREFIX):], position) for key, position in columns.items()
                            if key.startswith(CUSTOM_PREFIX))

    def convert(self, row_number: int, cells: tuple) -> LeadRow:
        """Normalize and validate one row (see `convert_row`)."""
        errors = []
        contact_name = normalize_name(cell_string(cells, self.contact_name))
        if self.is_named_after_contact:
            lead_name = contact_name
        else:
            lead_name = normalize_name(cell_string(cells, self.lead_name))
            if not lead_name:
                errors.append(("lead_name", "lead_name_missing"))
        if not contact_name:
            errors.append(("contact_name", "contact_name_missing"))

        phone_raw = ""
        if self.phone is not None and self.phone < len(cells):
            cell = cells[self.phone]
            phone_raw = cell.replace("\x00", "").strip() if cell.__class__ is str else clean_text(phone_text(cell))
        phone = ""
        if not phone_raw:
            errors.append(("phone", "phone_missing"))
        else:
            result = normalize_phone(phone_raw, self.region)
            if result.is_valid:
                phone = result.value
            else:
                errors.append(("phone", "phone_invalid"))

        contact_kana = cell_string(cells, self.contact_kana)
        if contact_kana:
            reading = normalize_reading(contact_kana)
            if reading.is_valid:
                contact_kana = reading.value
        email_raw, email = cell_string(cells, self.email), ""
        if email_raw:
            result = normalize_email(email_raw)
            if result.is_valid:
                email = result.value
            else:
                errors.append(("email", "email_invalid"))
        postal_code = cell_string(cells, self.postal_code)
        if postal_code:
            result = cached_postal_code(postal_code)
            postal_code = result.value or ""
            if not result.is_valid:
                errors.append(("postal_code", "postal_code_invalid"))
        prefecture = cell_string(cells, self.prefecture)
        if prefecture:
            result = cached_prefecture(prefecture)
            prefecture = result.value or ""
            if not result.is_valid:
                errors.append(("prefecture", "prefecture_invalid"))
        lead = LeadRow(
            row_number=row_number, cells=cells, lead_name=lead_name, lead_key=company_name_key(lead_name),
            is_named_after_contact=self.is_named_after_contact, contact_name=contact_name, contact_kana=contact_kana,
            phone_raw=phone_raw, phone=phone, email_raw=email_raw, email=email, postal_code=postal_code,
            prefecture=prefecture, city=cell_string(cells, self.city), street=cell_string(cells, self.street),
            building=cell_string(cells, self.building), homepage=cell_string(cells, self.homepage),
            assignee_email=cell_string(cells, self.assignee_email).lower(),
            first_inquiry_source=cell_string(cells, self.first_inquiry_source), errors=errors,
        )
        for key, index in self.dates:
            raw = cells[index] if index < len(cells) else None
            if raw is not None and (raw.__class__ is not str or raw.strip()):
                day = parse_date(raw if raw.__class__ is not str else clean_text(raw))
                if day.is_valid:
                    setattr(lead, key, day.value)
                else:
                    errors.append((key, "date_invalid"))
        for key, index, words in self.kinds:
            word = unicodedata.normalize("NFKC", cell_string(cells, index)).lower()
            if word:
                if word in words:
                    setattr(lead, key, words[word])
                else:
                    errors.append((key, f"{key}_invalid"))
        if self.notes:
            lines = []
            for label, index in self.notes:
                value = cell_string(cells, index)
                if value:
                    lines.append(f"{label}: {value}")
            lead.note = "\n".join(lines)
        check_lengths(lead)
        for key, name, index in self.custom:
            field_type, choices = self.custom_fields[name]
            raw = cells[index] if index < len(cells) else None
            if raw.__class__ is not str:  # (cell_text gives an exact str back as it is)
                raw = cell_text(raw) if isinstance(raw, str) or raw is None else raw
            try:
                value = clean_custom_value(field_type, choices, raw)
            except ValueError:
                lead.errors.append((key, "custom_value_invalid"))
                continue
            if value is not None:
                lead.custom[name] = value
        return lead


@lru_cache(maxsize=1)
def max_lengths() -> dict[str, int]:
    return field_max_lengths()


@lru_cache(maxsize=1)
def _length_checks():
    """(getter of every stored value, their limits in the same order), built once: the check runs per row."""
    pairs = [(attribute, limit) for key, limit in max_lengths().items() for attribute in STORED_VALUES[key]]
    return operator.attrgetter(*(attribute for attribute, _limit in pairs)), tuple(limit for _attribute, limit in pairs)


def check_lengths(lead: LeadRow) -> None:
    """A value longer than its column fails the row (field, "too_long"), in place of any other error of
    that field; it is never cut short."""
    values, limits = _length_checks()
    if not any(map(operator.gt, map(len, values(lead)), limits)):
        return
    for key, limit in max_lengths().items():
        if any(len(getattr(lead, name)) > limit for name in STORED_VALUES[key]):
            lead.errors = [error for error in lead.errors if error[0] != key]
            lead.errors.append((key, "too_long"))
