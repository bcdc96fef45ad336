"""Profiles: how one vendor's package becomes canonical records (records.py). Pure: no database.

A profile is YAML (docs/vendor-migration.md): built-ins in vendor/profiles/<name>.yaml (`template`,
`hubspot`, `salesforce`) or a file. It says which member is which entity, which column is which field,
how values translate, the region, currency and time zone. The interface:

    load_profile(name_or_path) -> Profile          (PROFILE_UNKNOWN, PROFILE_INVALID)
    profile_from_text(text, name) -> Profile       (a move-in's profile_text)
    profile_for_move_in(move_in) -> Profile
    extract(profile, package_path, *, region=None, currency=None) -> Extracted   (PACKAGE_UNREADABLE)

`extract` reads every record of every entity in file order; values that cannot be read become
`Problem`s (failures), suspicious ones warnings; source values without a field go to `extra`; words
missing from a value map are counted in `check.unknown_values` and kept in `extra`. Missing files
or columns make `check.is_loadable` false (the columns read as empty so that the report is complete).
"""

import datetime
import gc
import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import yaml
from django.utils.translation import gettext as _

from estatecrm.core.errors import ApplicationError
from estatecrm.crm.choices import Layout
from estatecrm.normalize.phone import normalize_phone
from estatecrm.normalize.prefectures import normalize_prefecture, split_prefecture
from estatecrm.pipeline.readers import ReadError, cell_text
from estatecrm.vendor import values
from estatecrm.vendor.choices import ENTITIES, TEMPLATE_FORMAT, FailReason
from estatecrm.vendor.error_codes import PACKAGE_UNREADABLE, PROFILE_INVALID, PROFILE_UNKNOWN
from estatecrm.vendor.package import Package, member_error
from estatecrm.vendor.records import (
    ActivityRecord,
    AgentRecord,
    CheckReport,
    Extracted,
    LinkRecord,
    ListingRecord,
    Problem,
    SeekerRecord,
)

BUILT_IN_FOLDER = Path(__file__).resolve().parent / "profiles"
BUILT_INS = ("template", "hubspot", "salesforce")
MAX_PROFILE_BYTES = 256 * 1024

# Field -> its type, per entity. A field's type decides how its text is read and where it goes.
FIELDS: dict[str, dict[str, str]] = {
    "agents": {"email": "email", "name": "text", "unit": "text"},
    "listings": {
        "title": "text", "kind": "choice", "status": "status", "amount": "money", "address": "address",
        "postal_code": "text", "prefecture": "prefecture", "city": "text", "street": "text", "layout": "layout",
        "area_m2": "decimal", "station": "text", "walk_minutes": "integer", "built_year": "integer", "agent": "reference",
        "created_at": "datetime", "updated_at": "datetime",
    },
    "seekers": {
        "name": "text", "kana": "text", "emails": "texts", "phones": "phones", "kind": "choice", "status": "status",
        "status_text": "text", "budget_min": "money", "budget_max": "money", "areas": "texts", "layouts": "layouts",
        "address": "address", "postal_code": "text", "prefecture": "prefecture", "city": "text", "street": "text",
        "employer": "text", "agent": "reference", "created_at": "datetime",
    },
    "activities": {"seeker": "reference", "listing": "reference", "kind": "choice", "at": "datetime", "subject": "text",
                   "text": "text", "agent": "reference"},
    "links": {"seeker": "reference", "listing": "reference", "kind": "choice", "at": "datetime"},
}
CHOICES = {
    ("listings", "kind"): ("rent", "sale"),
    ("seekers", "kind"): ("rent", "buy"),
    ("activities", "kind"): ("call", "mail", "visit", "note"),
    ("links", "kind"): ("introduced", "viewed", "offered"),
}
STATUS_VALUES = ("active", "archived")
RECORD_CLASSES = {"agents": AgentRecord, "listings": ListingRecord, "seekers": SeekerRecord, "activities": ActivityRecord,
                  "links": LinkRecord}
ATTRIBUTES = {"agent": "agent_key", "seeker": "seeker_key", "listing": "listing_key", "status": "is_active"}
LIST_TYPES = {"texts", "phones", "layouts"}
MAPPED_TYPES = {"choice", "status", "layout", "layouts"}
TOP_KEYS = {"name", "description", "vendor", "region", "currency", "manifest", "decimal_comma", "money_unit", "time_zone",
            "date_formats", "tables", "entities"}
SOURCE_KEYS = {"file", "encoding", "delimiter", "required", "records", "key", "fields", "extra_columns", "optional_columns"}
TABLE_KEYS = {"file", "encoding", "delimiter", "required", "records", "key"}
SPEC_FORMS = ("column", "columns", "join", "person", "value", "template", "lines", "rules")
SPEC_MODIFIERS = {"with", "split", "lookup", "lower", "map", "default"}
_TEMPLATE_FIELD = re.compile(r"\{([^{}]+)\}")

LAYOUT_VALUES = {layout.value.upper(): layout.value for layout in Layout}
LAYOUT_WORDS = {"1R": Layout.ONE_ROOM.value, "ワンルーム": Layout.ONE_ROOM.value, "STUDIO": Layout.ONE_ROOM.value,
                "KAWALERKA": Layout.ONE_ROOM.value}
SHARED_LENGTH = 32
_MANY_ROOMS = re.compile(r"([5-9]|[1-9][0-9])(?:S?L?D?K|R)")


@dataclass
class Profile:
    """A profile as loaded: `name`, `text` (the YAML as used; MoveIn.profile_text keeps it) and `data`."""

    name: str
    text: str = ""
    data: dict = field(default_factory=dict)

    @property
    def vendor(self) -> str:
        return str(self.data.get("vendor") or self.name)


# ---------------------------------------------------------------------------------------------
# Loading and validating


def invalid(name: str, place: str, problem: str) -> ApplicationError:
    return ApplicationError(PROFILE_INVALID, _("Profile “%(name)s” is not valid at %(place)s: %(problem)s")
                            % {"name": name, "place": place or _("the top"), "problem": problem})


def load_profile(name_or_path: str) -> Profile:
    """A built-in profile by name, or a YAML file by path."""
    text_name = str(name_or_path).strip()
    if text_name in BUILT_INS:
        return profile_from_text((BUILT_IN_FOLDER / f"{text_name}.yaml").read_text(encoding="utf-8"), text_name)
    path = Path(text_name)
    if not text_name or not path.is_file():
        raise ApplicationError(PROFILE_UNKNOWN, _("There is no built-in profile named “%(name)s” (%(built_ins)s) and no such file.")
                               % {"name": text_name, "built_ins": ", ".join(BUILT_INS)})
    if path.stat().st_size > MAX_PROFILE_BYTES:
        raise invalid(path.name, "", _("the file is too large for a profile."))
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        raise invalid(path.name, "", _("the file is not UTF-8 text.")) from None
    return profile_from_text(text, path.stem)


def profile_from_text(text: str, name: str) -> Profile:
    """A profile from its YAML text (validated: PROFILE_INVALID names the place of the first mistake)."""
    try:
        data = yaml.safe_load(text)
    except RecursionError:
        raise invalid(name, "", _("this is not valid YAML.")) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        place = _("line %(line)d") % {"line": mark.line + 1} if mark is not None else ""
        raise invalid(name, place, _("this is not valid YAML.")) from None
    if not isinstance(data, dict):
        raise invalid(name, "", _("a profile is a mapping of keys (name, entities, ...)."))
    validate(data, name)
    return Profile(name=str(data.get("name") or name), text=text, data=data)


def profile_for_move_in(move_in) -> Profile:
    """The profile a move-in was started with (its stored text), else its built-in by name."""
    if move_in.profile_text:
        return profile_from_text(move_in.profile_text, move_in.profile)
    return load_profile(move_in.profile)


def validate(data: dict, name: str) -> None:
    def expect(condition: bool, place: str, problem: str) -> None:
        if not condition:
            raise invalid(name, place, problem)

    def unknown_keys(mapping: dict, allowed: set, place: str) -> None:
        for key in mapping:
            expect(key in allowed, f"{place}.{key}".lstrip("."), _("unknown key (allowed: %(keys)s).") % {"keys": ", ".join(sorted(allowed))})

    unknown_keys(data, TOP_KEYS, "")
    for key in ("name", "description", "vendor", "manifest", "time_zone"):
        expect(data.get(key) is None or isinstance(data[key], str), key, _("must be text."))
    expect(data.get("region") is None or (isinstance(data["region"], str) and len(data["region"]) == 2), "region",
           _("must be a two-letter country code (JP, PL, ...)."))
    expect(data.get("currency") is None or (isinstance(data["currency"], str) and len(data["currency"]) == 3), "currency",
           _("must be a three-letter currency code (JPY, PLN, ...)."))
    expect(data.get("decimal_comma", "auto") in (True, False, "auto"), "decimal_comma", _("must be true, false or auto."))
    expect(data.get("money_unit", "major") in values.MONEY_UNITS, "money_unit",
           _("must be one of: %(values)s.") % {"values": ", ".join(values.MONEY_UNITS)})
    if data.get("time_zone"):
        try:
            values.time_zone("", data["time_zone"])
        except Exception:  # zoneinfo raises several kinds of error for a bad name
            raise invalid(name, "time_zone", _("unknown time zone.")) from None
    formats = data.get("date_formats", [])
    expect(isinstance(formats, list) and all(isinstance(item, str) for item in formats), "date_formats",
           _("must be a list of strptime formats (such as day.month.year; see the guide)."))
    tables = data.get("tables") or {}
    expect(isinstance(tables, dict), "tables", _("must be a mapping of table name -> file and key."))
    for table_name, table in tables.items():
        place = f"tables.{table_name}"
        expect(isinstance(table, dict), place, _("must be a mapping (file, key)."))
        unknown_keys(table, TABLE_KEYS, place)
        check_source_file(table, place, expect)
        expect("key" in table, f"{place}.key", _("is required."))
        keys = table["key"] if isinstance(table["key"], list) else [table["key"]]
        for position, key in enumerate(keys):
            check_spec(key, f"{place}.key[{position}]" if isinstance(table["key"], list) else f"{place}.key", expect, tables, "text")
    entities = data.get("entities")
    expect(isinstance(entities, dict) and entities, "entities", _("must be a mapping of entity -> file and fields."))
    for entity, sources in entities.items():
        expect(entity in ENTITIES, f"entities.{entity}", _("unknown entity (allowed: %(keys)s).") % {"keys": ", ".join(ENTITIES)})
        listed = sources if isinstance(sources, list) else [sources]
        for position, source in enumerate(listed):
            place = f"entities.{entity}[{position}]" if isinstance(sources, list) else f"entities.{entity}"
            expect(isinstance(source, dict), place, _("must be a mapping (file, key, fields)."))
            unknown_keys(source, SOURCE_KEYS, place)
            check_source_file(source, place, expect)
            expect("key" in source, f"{place}.key", _("is required."))
            check_spec(source["key"], f"{place}.key", expect, tables, "text")
            fields = source.get("fields") or {}
            expect(isinstance(fields, dict), f"{place}.fields", _("must be a mapping of field -> column."))
            for field_name, spec in fields.items():
                field_place = f"{place}.fields.{field_name}"
                expect(field_name in FIELDS[entity], field_place,
                       _("unknown field (allowed: %(keys)s).") % {"keys": ", ".join(FIELDS[entity])})
                check_spec(spec, field_place, expect, tables, FIELDS[entity][field_name])
            for key in ("extra_columns", "optional_columns"):
                columns = source.get(key, [])
                expect(isinstance(columns, list) and all(isinstance(item, str) for item in columns), f"{place}.{key}",
                       _("must be a list of column names."))


def check_source_file(source: dict, place: str, expect) -> None:
    names = source.get("file") if isinstance(source.get("file"), list) else [source.get("file")]
    expect(bool(names) and all(isinstance(name, str) and name.strip() for name in names), f"{place}.file",
           _("must name a file (or a pattern such as *.csv)."))
    expect(isinstance(source.get("required", True), bool), f"{place}.required", _("must be true or false."))
    for key in ("encoding", "delimiter", "records"):
        expect(source.get(key) is None or isinstance(source[key], str), f"{place}.{key}", _("must be text."))
    if source.get("encoding"):
        import codecs

        try:
            codecs.lookup(source["encoding"])
        except LookupError:
            expect(False, f"{place}.encoding", _("unknown character encoding."))


def check_spec(spec, place: str, expect, tables: dict, field_type: str) -> None:
    if isinstance(spec, str):
        expect(bool(spec.strip()), place, _("must name a column."))
        return
    if isinstance(spec, list):
        expect(bool(spec), place, _("must list at least one column."))
        for position, item in enumerate(spec):
            # No lists in lists: YAML aliases could otherwise make a small file an exponential tree.
            expect(isinstance(item, str | dict), f"{place}[{position}]", _("must be a column name or a mapping (column, join, value, ...)."))
            check_spec(item, f"{place}[{position}]", expect, tables, field_type)
        return
    expect(isinstance(spec, dict), place, _("must be a column name, a list of columns or a mapping (column, join, value, ...)."))
    forms = [form for form in SPEC_FORMS if form in spec]
    expect(len(forms) == 1, place, _("needs exactly one of: %(keys)s.") % {"keys": ", ".join(SPEC_FORMS)})
    for key in spec:
        expect(key in SPEC_FORMS or key in SPEC_MODIFIERS, f"{place}.{key}",
               _("unknown key (allowed: %(keys)s).") % {"keys": ", ".join([*SPEC_FORMS, *sorted(SPEC_MODIFIERS)])})
    form = forms[0]
    content = spec[form]
    if form in ("column", "template"):
        expect(isinstance(content, str) and content.strip(), f"{place}.{form}", _("must be text."))
    elif form in ("columns", "join", "lines"):
        expect(isinstance(content, list) and content and all(isinstance(item, str) for item in content), f"{place}.{form}",
               _("must be a list of column names."))
    elif form == "person":
        expect(isinstance(content, dict) and set(content) <= {"first", "last"} and content and all(isinstance(item, str) for item in content.values()),
               f"{place}.person", _("must be a mapping with first and last (column names)."))
    elif form == "value":
        expect(isinstance(content, str | int | float), f"{place}.value", _("must be text or a number."))
    elif form == "rules":
        expect(isinstance(content, list) and content, f"{place}.rules", _("must be a list of rules (column, in, then)."))
        for position, rule in enumerate(content):
            rule_place = f"{place}.rules[{position}]"
            expect(isinstance(rule, dict) and set(rule) == {"column", "in", "then"}, rule_place, _("a rule has exactly column, in and then."))
            expect(isinstance(rule["column"], str) and isinstance(rule["in"], list) and isinstance(rule["then"], str), rule_place,
                   _("column and then are text, in is a list of words."))
    expect(isinstance(spec.get("with", " "), str), f"{place}.with", _("must be text."))
    expect(isinstance(spec.get("split", ";"), str) and spec.get("split", ";") != "", f"{place}.split", _("must be a separator such as \";\"."))
    expect(isinstance(spec.get("lower", False), bool), f"{place}.lower", _("must be true or false."))
    if "lookup" in spec:
        lookup = spec["lookup"]
        expect(isinstance(lookup, dict) and set(lookup) == {"table", "value"}, f"{place}.lookup", _("must be a mapping with table and value."))
        expect(lookup["table"] in tables, f"{place}.lookup.table", _("names no table of the profile's tables."))
        expect(isinstance(lookup["value"], str), f"{place}.lookup.value", _("must name a column of the table."))
    if "map" in spec or "default" in spec:
        expect(field_type in MAPPED_TYPES, f"{place}.map", _("only choices, statuses and layouts have a value map."))
        mapping = spec.get("map", {})
        expect(isinstance(mapping, dict) and all(isinstance(value, str) for value in mapping.values()), f"{place}.map",
               _("must be a mapping of source word -> value."))
        allowed = allowed_values(field_type, place)
        for word, value in [*mapping.items(), *([("default", spec["default"])] if "default" in spec else [])]:
            expect(allowed is None or value in allowed, f"{place}.map.{word}",
                   _("“%(value)s” is not one of: %(values)s.") % {"value": value, "values": ", ".join(allowed or ())})


def allowed_values(field_type: str, place: str) -> tuple | None:
    if field_type == "status":
        return STATUS_VALUES
    if field_type in ("layout", "layouts"):
        return tuple(layout.value for layout in Layout)
    if field_type == "choice":
        parts = place.split(".")
        entity = parts[1].split("[")[0]
        return CHOICES.get((entity, parts[-1]))
    return None


# ---------------------------------------------------------------------------------------------
# Compiling a profile against a file's header


class Context:
    """The settings every value of one extraction is read with."""

    __slots__ = ("region", "currency", "tz", "decimal_comma", "money_unit", "date_formats", "lookups", "check", "is_japan")

    def __init__(self, profile: Profile, region: str, currency: str):
        data = profile.data
        self.region = region
        self.currency = currency
        self.is_japan = region == "JP"
        self.tz = values.time_zone(region, data.get("time_zone"))
        setting = data.get("decimal_comma", "auto")
        self.decimal_comma = values.decimal_comma_for(region) if setting == "auto" else bool(setting)
        self.money_unit = data.get("money_unit", "major")
        self.date_formats = tuple(data.get("date_formats") or ())
        self.lookups: dict[str, dict[str, dict[str, str]]] = {}  # table -> key -> row (column -> text)
        self.check = CheckReport()


def lookup_key(text: str) -> str:
    return " ".join(text.split()).casefold()


class Compiler:
    """Turns value specs into functions of a row's texts, for one file's header."""

    def __init__(self, header: list[str], context: Context, entity: str):
        self.index = {}
        for position, column in enumerate(header):
            self.index.setdefault(column, position)
        self.context = context
        self.entity = entity
        self.used: set[str] = set()  # columns the profile reads
        self.missing: list[str] = []

    def column(self, name: str) -> Callable[[list], str]:
        self.used.add(name)
        position = self.index.get(name)
        if position is None:
            if name not in self.missing:
                self.missing.append(name)
            return lambda texts: ""
        return lambda texts: texts[position].strip()

    def scalar(self, spec) -> Callable[[list], str]:
        """A function giving the spec's text for a row (a list spec: its first non-empty column)."""
        if isinstance(spec, str):
            return self.column(spec)
        if isinstance(spec, list):
            getters = [self.scalar(item) for item in spec]
            return lambda texts: next((value for getter in getters if (value := getter(texts))), "")
        form = next(form for form in SPEC_FORMS if form in spec)
        content = spec[form]
        if form == "column":
            getter = self.column(content)
        elif form == "columns":
            getter = self.scalar(content)
        elif form == "join":
            parts = [self.column(name) for name in content]
            separator = spec.get("with", " ")
            getter = lambda texts: separator.join(value for part in parts if (value := part(texts)))  # noqa: E731
        elif form == "person":
            first = self.column(content["first"]) if "first" in content else (lambda texts: "")
            last = self.column(content["last"]) if "last" in content else (lambda texts: "")
            ordered = (last, first) if self.context.is_japan else (first, last)
            getter = lambda texts: " ".join(value for part in ordered if (value := part(texts)))  # noqa: E731
        elif form == "value":
            constant = str(content)
            getter = lambda texts: constant  # noqa: E731
        elif form == "template":
            pieces = _TEMPLATE_FIELD.split(content)  # text, column, text, column, ...
            parts = [(piece, None) if position % 2 == 0 else ("", self.column(piece)) for position, piece in enumerate(pieces)]
            getter = lambda texts: "".join(text if part is None else part(texts) for text, part in parts).strip()  # noqa: E731
        elif form == "lines":
            parts = [(name, self.column(name)) for name in content]
            getter = lambda texts: "\n".join(f"{name}: {value}" for name, part in parts if (value := part(texts)))  # noqa: E731
        else:  # rules
            rules = [(self.column(rule["column"]), {str(word).casefold() for word in rule["in"]}, rule["then"]) for rule in content]
            default = str(spec.get("default", ""))
            getter = lambda texts: next((then for part, words, then in rules if part(texts).casefold() in words), default)  # noqa: E731
        if "split" in spec:
            separator = spec["split"]
            inner = getter
            getter = lambda texts: next(iter(values.split_list(inner(texts), separator)), "")  # noqa: E731
        return self.modified(getter, spec)

    def many(self, spec) -> Callable[[list], list[str]]:
        """A function giving the spec's texts for a row (a list field: every non-empty column, split)."""
        if isinstance(spec, list):
            getters = [self.many(item) for item in spec]
            return lambda texts: [value for getter in getters for value in getter(texts)]
        if isinstance(spec, dict) and "columns" in spec:
            rest = {key: value for key, value in spec.items() if key != "columns"}
            getters = [self.many({**rest, "column": name}) for name in spec["columns"]]
            return lambda texts: [value for getter in getters for value in getter(texts)]
        separator = spec.get("split") if isinstance(spec, dict) else None
        plain = {key: value for key, value in spec.items() if key != "split"} if isinstance(spec, dict) else spec
        getter = self.scalar(plain)
        if separator:
            return lambda texts: values.split_list(getter(texts), separator)
        return lambda texts: [value] if (value := getter(texts)) else []

    def modified(self, getter, spec):
        if "lookup" in spec:
            table, column = spec["lookup"]["table"], spec["lookup"]["value"]
            rows = self.context.lookups.get(table, {})
            inner = getter

            def getter(texts):
                text = inner(texts)
                if not text:
                    return ""
                row = rows.get(lookup_key(text))
                return row.get(column, "").strip() if row is not None else LookupMiss(text)
        if spec.get("lower"):
            inner_lower = getter
            getter = lambda texts: (value.lower() if value.__class__ is str else value) if (value := inner_lower(texts)) else ""  # noqa: E731
        return getter

    def label(self, spec, field_name: str) -> str:
        """The column a field's unknown values are reported under."""
        if isinstance(spec, str):
            return spec
        if isinstance(spec, dict) and "column" in spec:
            return spec["column"]
        if isinstance(spec, dict) and "columns" in spec and len(spec["columns"]) == 1:
            return spec["columns"][0]
        return field_name


class LookupMiss(str):
    """A value a lookup table does not have (reported as an unknown value, the field left empty)."""

    __slots__ = ()


def word_map(spec, field_type: str, entity: str, field_name: str) -> tuple[dict[str, str], str | None]:
    """The profile's value map (source word casefolded -> value) on top of the field's own values."""
    mapping: dict[str, str] = {}
    if field_type == "status":
        mapping = {value: value for value in STATUS_VALUES}
    elif field_type == "choice":
        mapping = {value: value for value in CHOICES[(entity, field_name)]}
    if isinstance(spec, dict):
        mapping.update({str(word).strip().casefold(): value for word, value in (spec.get("map") or {}).items()})
        default = spec.get("default")
    else:
        default = None
    return mapping, default


def normalize_layout(text: str) -> str:
    word = unicodedata.normalize("NFKC", text).strip().upper().replace(" ", "")
    if word in LAYOUT_VALUES:
        return LAYOUT_VALUES[word]
    if word in LAYOUT_WORDS:
        return LAYOUT_WORDS[word]
    if _MANY_ROOMS.fullmatch(word):
        return Layout.L5K_PLUS.value
    return ""


class Setter:
    """Reads one field of a record from its row and sets it (with problems and unknown values)."""

    __slots__ = ("entity", "name", "attribute", "type", "get", "mapping", "default", "label", "member", "context", "problem_key",
                 "position")

    def __init__(self, compiler: Compiler, entity: str, member: str, name: str, spec, field_type: str):
        self.entity = entity
        self.name = name
        self.attribute = ATTRIBUTES.get(name, name)
        self.type = field_type
        self.member = member
        self.context = compiler.context
        self.label = compiler.label(spec, name)
        self.mapping, self.default = word_map(spec, field_type, entity, name) if field_type in MAPPED_TYPES else ({}, None)
        self.get = compiler.many(spec) if field_type in LIST_TYPES else compiler.scalar(spec)
        # A plain column of a scalar field is read inline by the setter (no getter call per value).
        self.position = compiler.index.get(spec) if isinstance(spec, str) and field_type not in LIST_TYPES else None
        self.problem_key = f"{entity}:{name}:"

    def problem(self, record, code: str, value: str, *, is_failure: bool = True) -> None:
        record.problems.append(Problem(self.name, code, value, is_failure))
        problems = self.context.check.problems
        key = self.problem_key + code
        problems[key] = problems.get(key, 0) + 1

    def unknown(self, record, value: str) -> None:
        columns = self.context.check.unknown_values.setdefault(self.member, {})
        counts = columns.setdefault(self.label, {})
        counts[value] = counts.get(value, 0) + 1
        kept = record.extra.get(self.label)
        record.extra[self.label] = value if not kept or kept == value else f"{kept};{value}"  # several words of one list

    def translate(self, record, word: str) -> str | None:
        value = self.mapping.get(word.casefold())
        if value is None and self.type in ("layout", "layouts"):
            value = normalize_layout(word) or None
        if value is None:
            if self.default is not None:
                return self.default
            self.unknown(record, word)
        return value

    def function(self) -> Callable[[list, object], None]:
        """The setter as one closure specialized for the field's type (a package has millions of values)."""
        get, attribute, context, name = self.get, self.attribute, self.context, self.name
        kind = self.type
        invalid_value = FailReason.INVALID_VALUE.value
        problem, unknown, translate = self.problem, self.unknown, self.translate

        if kind in ("text", "reference", "texts"):
            def read(value, record):
                setattr(record, attribute, value)
        elif kind == "email":
            def read(value, record):
                record.email = value.lower()
        elif kind in ("money", "datetime", "decimal", "integer"):
            if kind == "money":
                unit, comma = context.money_unit, context.decimal_comma
                parse = lambda value: values.parse_money(value, unit=unit, decimal_comma=comma)  # noqa: E731
            elif kind == "datetime":
                tz, formats = context.tz, context.date_formats
                parse = lambda value: values.parse_when(value, tz=tz, formats=formats)  # noqa: E731
            elif kind == "decimal":
                comma = context.decimal_comma
                parse = lambda value: values.parse_number(value, decimal_comma=comma)  # noqa: E731
            else:
                parse = values.parse_integer

            def read(value, record):
                try:
                    setattr(record, attribute, parse(value))
                except (ValueError, ArithmeticError):
                    problem(record, invalid_value, value)
        elif kind == "phones":
            region = context.region

            def read(value, record):
                record.phones = value
                for phone in value:
                    if not normalize_phone(phone, region).is_valid:
                        problem(record, "invalid_phone", phone, is_failure=False)
        elif kind == "status":
            keep_text = self.entity == "seekers"

            def read(value, record):
                # A status word the profile does not know sends the record to the archive: it is
                # loaded in phase 2 and never published as an active listing by mistake.
                translated = translate(record, value)
                record.is_active = translated == "active"
                if keep_text and not record.status_text:
                    record.status_text = value
        elif kind in ("choice", "layout"):
            known: dict[str, str] = {}  # words already translated, as written (most packages use a handful)

            def read(value, record):
                translated = known.get(value)
                if translated is None:
                    translated = translate(record, value)
                    if translated is None:
                        return
                    known[value] = translated
                setattr(record, attribute, translated)
        elif kind == "layouts":
            known_layouts: dict[str, str] = {}

            def read(value, record):
                layouts = []
                for word in value:
                    translated = known_layouts.get(word)
                    if translated is None:
                        translated = translate(record, word)
                        if translated is None:
                            continue
                        known_layouts[word] = translated
                    layouts.append(translated)
                record.layouts = layouts
        elif kind == "address":
            is_japan = context.is_japan

            def read(value, record):
                prefecture, rest = split_prefecture(value) if is_japan else ("", value)
                if prefecture and not record.prefecture:
                    record.prefecture = prefecture
                record.street = rest
        else:  # prefecture
            is_japan = context.is_japan

            def read(value, record):
                normalized = normalize_prefecture(value) if is_japan else None
                record.prefecture = normalized.value if normalized is not None and normalized.is_valid else value

        del name
        position = self.position
        if position is not None and kind in ("text", "reference"):
            def plain_text(texts, record) -> None:
                value = texts[position].strip()
                if value:
                    setattr(record, attribute, value)

            return plain_text
        if position is not None and kind == "datetime":
            zone, from_iso = context.tz, datetime.datetime.fromisoformat

            def plain_datetime(texts, record) -> None:
                value = texts[position].strip()
                if not value:
                    return
                if value[4:5] == "-":  # ISO 8601, the common case: parsed here, without three calls
                    try:
                        moment = from_iso(value)
                    except ValueError:
                        pass
                    else:
                        setattr(record, attribute, moment if moment.tzinfo is not None else moment.replace(tzinfo=zone))
                        return
                read(value, record)

            return plain_datetime
        if position is not None and kind == "money" and context.money_unit != "man_yen":
            def plain_money(texts, record) -> None:
                value = texts[position].strip()
                if not value:
                    return
                if value.isdigit() and value.isascii():  # a whole amount, the common case
                    setattr(record, attribute, Decimal(value))
                    return
                read(value, record)

            return plain_money
        if position is not None:
            def plain(texts, record) -> None:
                value = texts[position].strip()
                if value:
                    read(value, record)

            return plain

        def setter(texts, record) -> None:
            value = get(texts)
            if not value:
                return
            if value.__class__ is LookupMiss:
                unknown(record, str(value))
                return
            read(value, record)

        return setter


# Fields set first: an address fills prefecture and street, which explicit columns then override.
FIELD_ORDER = {"address": 0, "status_text": 0}


# ---------------------------------------------------------------------------------------------
# Reading a package


def extract(profile: Profile, package_path, *, region: str | None = None, currency: str | None = None) -> Extracted:
    """Every record of every entity of the package, read through `profile` (see the module's docstring).

    Raises ApplicationError(PACKAGE_UNREADABLE) for a package or member that cannot be read (the
    message names the member and the line); never writes anything. The cyclic garbage collector is
    paused meanwhile (records hold no cycles; it would scan the growing heap again and again: a
    450,000-record package took twice as long with it)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _extract(profile, package_path, region=region, currency=currency)
    finally:
        if was_enabled:
            gc.enable()


def _extract(profile: Profile, package_path, *, region: str | None, currency: str | None) -> Extracted:
    if not profile.data:  # a Profile made by hand (name and text only)
        profile = profile_from_text(profile.text, profile.name) if profile.text else load_profile(profile.name)
    data = profile.data
    with Package(package_path) as package:
        members = package.members()
        matched: dict[str, str] = {}
        manifest: dict = {}
        missing_files: list[str] = []
        if data.get("manifest"):
            found = package.find(data["manifest"])
            if found:
                manifest = read_manifest(package, found[0])
                matched[found[0]] = "manifest"
            else:
                missing_files.append(data["manifest"])
        region = (region or manifest.get("region") or data.get("region") or "JP").upper()
        currency = (currency or manifest.get("currency") or data.get("currency") or "JPY").upper()
        context = Context(profile, region, currency)
        check = context.check
        check.missing_files = missing_files
        for table_name, table in (data.get("tables") or {}).items():
            found = find_file(package, table["file"])
            if not found and table.get("required", True) and file_label(table["file"]) not in check.missing_files:
                check.missing_files.append(file_label(table["file"]))
            rows: dict[str, dict[str, str]] = {}
            for member in found:
                matched.setdefault(member, table_name)
                read_table(package, member, table, context, rows)
            context.lookups[table_name] = rows
        records: dict[str, list] = {entity: [] for entity in ENTITIES}
        for entity in ENTITIES:
            sources = data["entities"].get(entity)
            if sources is None:
                continue
            for source in sources if isinstance(sources, list) else [sources]:
                found = find_file(package, source["file"])
                if not found and source.get("required", True) and file_label(source["file"]) not in check.missing_files:
                    check.missing_files.append(file_label(source["file"]))
                for member in found:
                    matched[member] = entity
                    read_entity(package, member, entity, source, context, records[entity])
        check.files = {member: matched[member] for member in members if member in matched}
        check.unknown_files = [member for member in members if member not in matched]
    for entity in ENTITIES:
        check.counts[entity] = len(records[entity])
    exported_at = None
    if manifest.get("exported_at"):
        try:
            exported_at = values.parse_when(str(manifest["exported_at"]), tz=context.tz)
        except ValueError:
            exported_at = None
    vendor = str(manifest.get("vendor") or profile.vendor)
    return Extracted(vendor=vendor, region=region, currency=currency, exported_at=exported_at, agents=records["agents"],
                     listings=records["listings"], seekers=records["seekers"], activities=records["activities"],
                     links=records["links"], check=check)


def find_file(package: Package, names: str | list[str]) -> list[str]:
    """The members of a profile's `file`: a name or pattern, or a list of them where the first that
    finds members wins (`[contacts.csv, contacts.xlsx]`: whichever the vendor exported)."""
    for name in names if isinstance(names, list) else [names]:
        found = package.find(name)
        if found:
            return found
    return []


def file_label(names: str | list[str]) -> str:
    return " | ".join(names) if isinstance(names, list) else names


def read_manifest(package: Package, member: str) -> dict:
    manifest = package.json(member)
    if not isinstance(manifest, dict) or manifest.get("format") != TEMPLATE_FORMAT:
        raise ApplicationError(PACKAGE_UNREADABLE, _("%(member)s: the manifest is not of the format %(format)s.")
                               % {"member": member, "format": TEMPLATE_FORMAT})
    for key in ("vendor", "region", "currency"):
        if not isinstance(manifest.get(key), str) or not manifest[key].strip():
            raise ApplicationError(PACKAGE_UNREADABLE, _("%(member)s: “%(key)s” is missing or not text.") % {"member": member, "key": key})
    return manifest


def member_rows(package: Package, member: str, source: dict):
    """(header, iterator of (row number, texts)) of a table or JSON member; texts are str, one per column."""
    if member.lower().endswith(".json"):
        return json_rows(package, member, source)
    table = package.table(member, encoding=source.get("encoding"), delimiter=source.get("delimiter"))
    header = list(table.info.headers)
    is_text = table.info.format == "csv"

    shared: dict[str, str] = {}  # one object per distinct short value (kinds, statuses, agents, dates)

    def rows():
        share = shared.setdefault
        try:
            for row in table.rows():
                cells = row.cells
                if not is_text or None in cells:
                    cells = [cell if cell.__class__ is str else cell_text(cell) for cell in cells]
                yield row.number, [share(cell, cell) if len(cell) <= SHARED_LENGTH else cell for cell in cells]
        except ReadError as error:
            raise member_error(member, error) from None

    return header, rows()


def json_rows(package: Package, member: str, source: dict):
    document = package.json(member)
    for part in (source.get("records") or "").split("."):
        if part:
            document = document.get(part) if isinstance(document, dict) else None
    if not isinstance(document, list) or not all(isinstance(item, dict) for item in document):
        raise ApplicationError(PACKAGE_UNREADABLE, _("%(member)s: the file is not a list of records (objects).") % {"member": member})
    header: list[str] = []
    seen: set[str] = set()
    for item in document:
        for key in item:
            if key not in seen:
                seen.add(key)
                header.append(str(key))

    def text(value) -> str:
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return cell_text(value)
        return json.dumps(value, ensure_ascii=False)

    def rows():
        for position, item in enumerate(document, start=1):
            yield position, [text(item.get(column)) for column in header]

    return header, rows()


def read_table(package: Package, member: str, table: dict, context: Context, rows: dict) -> None:
    header, row_iterator = member_rows(package, member, table)
    compiler = Compiler(header, context, "table")
    keys = table["key"] if isinstance(table["key"], list) else [table["key"]]
    getters = [compiler.scalar(key) for key in keys]
    if compiler.missing:
        context.check.missing_columns.setdefault(member, []).extend(column for column in compiler.missing
                                                                   if column not in context.check.missing_columns.get(member, []))
    for _number, texts in row_iterator:
        row = dict(zip(header, texts, strict=False))
        for getter in getters:
            key = getter(texts)
            if key:
                rows.setdefault(lookup_key(key), row)


def read_entity(package: Package, member: str, entity: str, source: dict, context: Context, into: list) -> None:
    header, row_iterator = member_rows(package, member, source)
    check = context.check
    compiler = Compiler(header, context, entity)
    key_getter = compiler.scalar(source["key"])
    fields = source.get("fields") or {}
    setters = [Setter(compiler, entity, member, name, spec, FIELDS[entity][name]).function()
               for name, spec in sorted(fields.items(), key=lambda item: FIELD_ORDER.get(item[0], 1))]
    optional = set(source.get("optional_columns") or ())
    missing = [column for column in compiler.missing if column not in optional]
    if missing:
        check.missing_columns[member] = missing
    known = compiler.used | set(source.get("extra_columns") or ())
    unknown = [column for column in header if column and column not in known]
    if unknown:
        check.unknown_columns[member] = unknown
    # Columns no field reads: their values are the record's extra (nothing dropped).
    extra_positions = [(position, column) for position, column in enumerate(header) if column not in compiler.used]
    width = len(header)
    record_class = RECORD_CLASSES[entity]
    missing_key = FailReason.MISSING_VALUE.value
    key_problem = f"{entity}:key:{missing_key}"
    for number, texts in row_iterator:
        cells = dict(zip(header, texts, strict=False))
        key = key_getter(texts)
        record = record_class(key if key.__class__ is str else str(key), member, number, cells)
        for setter in setters:
            setter(texts, record)
        for position, column in extra_positions:
            value = texts[position]
            if value and column not in record.extra:
                record.extra[column or f"({position + 1})"] = value
        if len(texts) > width:  # values beyond the header's last column
            for position in range(width, len(texts)):
                if texts[position]:
                    record.extra[f"({position + 1})"] = texts[position]
        if not record.key:
            record.problems.append(Problem("key", missing_key, ""))
            check.problems[key_problem] = check.problems.get(key_problem, 0) + 1
        into.append(record)
