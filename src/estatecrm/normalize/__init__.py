"""Normalization of Japanese customer data: pure functions, no Django, none of them raises.

Normalizers return a `Result`: the normalized value, or a stable reason code (`MESSAGES` has the
English text, marked for translation; the Django layer translates it). Display forms
(`normalize_name`) and matching keys (`name_key`, `reading_key`, `company_name_key`) are plain
strings. The raw text is the caller's to keep.
"""

from estatecrm.normalize.dates import parse_date, parse_datetime
from estatecrm.normalize.email import normalize_email
from estatecrm.normalize.names import (
    company_name_key,
    name_key,
    normalize_name,
    normalize_reading,
    reading_key,
)
from estatecrm.normalize.phone import format_national, format_phone, normalize_phone
from estatecrm.normalize.postal import Address, lookup_address, normalize_postal_code
from estatecrm.normalize.prefectures import PREFECTURES, normalize_prefecture, split_prefecture
from estatecrm.normalize.result import MESSAGES, Result
from estatecrm.normalize.text import clean_text, neutralize_formula

__all__ = [
    "MESSAGES",
    "PREFECTURES",
    "Address",
    "Result",
    "clean_text",
    "company_name_key",
    "format_national",
    "format_phone",
    "lookup_address",
    "name_key",
    "neutralize_formula",
    "normalize_email",
    "normalize_name",
    "normalize_phone",
    "normalize_postal_code",
    "normalize_prefecture",
    "normalize_reading",
    "parse_date",
    "parse_datetime",
    "reading_key",
    "split_prefecture",
]
