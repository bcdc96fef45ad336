"""Column mapping: which file header feeds which canonical field (pure functions).

A mapping is `{field_key: header}`. Suggestions compare headers with each field's synonyms after
folding width, case, spacing and punctuation, so `ＴＥＬ`, `tel.`, `電話 番号` all find `phone`.
"""

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

_IGNORED = re.compile(r"[\s\u3000・･\-‐－―ー_.,:：;；/／()（）\[\]「」【】〔〕<>＜＞*＊※#＃]+")


def fold_header(header: str) -> str:
    """A header reduced for comparison: NFKC, lower case, no spaces or punctuation."""
    return _IGNORED.sub("", unicodedata.normalize("NFKC", header or "")).lower()


@dataclass(frozen=True)
class FieldSpec:
    """A field a file column can be mapped to."""

    key: str
    label: str
    synonyms: tuple[str, ...] = ()
    is_required: bool = False


def suggest_mapping(headers: Sequence[str], fields: Iterable[FieldSpec]) -> dict[str, str]:
    """The best header for each field: an exact folded match first, then a synonym contained in the header.

    Each header feeds at most one field; fields earlier in `fields` win ties.
    """
    folded_headers = [(header, fold_header(header)) for header in headers if header and header.strip()]
    fields = list(fields)
    mapping: dict[str, str] = {}
    taken: set[str] = set()

    def candidates(field: FieldSpec) -> list[str]:
        return [fold_header(word) for word in (field.key, field.label, *field.synonyms) if fold_header(word)]

    for exact in (True, False):
        for field in fields:
            if field.key in mapping:
                continue
            words = candidates(field)
            for header, folded in folded_headers:
                if header in taken:
                    continue
                matched = folded in words if exact else any(len(word) >= 2 and word in folded for word in words)
                if matched:
                    mapping[field.key] = header
                    taken.add(header)
                    break
    return mapping


def check_mapping(mapping: Mapping[str, str], headers: Sequence[str], fields: Iterable[FieldSpec]) -> dict[str, str]:
    """Problems by field key: unknown field, header not in the file, header that names several columns of
    the file (which one would be imported?), required field unmapped (codes)."""
    fields = list(fields)
    known = {field.key for field in fields}
    header_set = set(headers)
    repeated = {header for header in header_set if header and list(headers).count(header) > 1} if len(header_set) < len(headers) else set()
    problems: dict[str, str] = {}
    for key, header in mapping.items():
        if key not in known:
            problems[key] = "unknown_field"
        elif header not in header_set:
            problems[key] = "unknown_header"
        elif header in repeated:
            problems[key] = "duplicate_header"
    for field in fields:
        if field.is_required and not mapping.get(field.key) and field.key not in problems:
            problems[field.key] = "required_field_unmapped"
    return problems


def column_indexes(mapping: Mapping[str, str], headers: Sequence[str]) -> dict[str, int]:
    """Field key -> column index in the file (the first column with that header)."""
    position = {}
    for index, header in enumerate(headers):
        position.setdefault(header, index)
    return {key: position[header] for key, header in mapping.items() if header in position}


def parse_mapping_json(text: str) -> dict[str, str]:
    """A mapping sent as JSON text (`{"field key": "header"}`, from the API or a CLI file). Raises ValueError
    with a translated message when it is not an object of texts or names a field twice (JSON would
    silently keep the last one)."""
    from django.utils.translation import gettext as _

    def pairs(items):
        mapping = {}
        for key, value in items:
            if key in mapping:
                raise ValueError(_("The mapping names the field “%(field)s” twice: it is ambiguous which column to use.") % {"field": key})
            mapping[key] = value
        return mapping

    try:
        mapping = json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError:
        raise ValueError(_("The mapping is not valid JSON: send an object of field key -> file header.")) from None
    if not isinstance(mapping, dict) or not all(isinstance(key, str) and isinstance(value, str) for key, value in mapping.items()):
        raise ValueError(_("The mapping must be a JSON object of field key -> file header."))
    return mapping
