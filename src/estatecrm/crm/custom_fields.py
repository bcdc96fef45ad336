"""Validation of custom field values against their definitions (pure: no database access)."""

import datetime
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from estatecrm.crm.choices import CustomFieldType
from estatecrm.normalize import parse_date


def clean_custom_value(field_type: str, choices: list[str], value):
    """Return the stored form of `value` for a field of `field_type`, or raise ValueError(message)."""
    if value is None or value == "" or value == []:
        return None
    if field_type == CustomFieldType.TEXT:
        return str(value)
    if field_type == CustomFieldType.NUMBER:
        if isinstance(value, bool):
            raise ValueError(_("Enter a number."))
        try:
            number = Decimal(str(value).strip().replace(",", ""))
        except InvalidOperation:
            raise ValueError(_("Enter a number.")) from None
        if not number.is_finite():
            raise ValueError(_("Enter a number."))
        return int(number) if number == number.to_integral_value() else float(number)
    if field_type == CustomFieldType.DATE:
        if isinstance(value, datetime.date):
            return value.isoformat()
        result = parse_date(str(value))
        if not result.is_valid:
            raise ValueError(_("Enter a valid date."))
        return result.value.isoformat()
    if field_type == CustomFieldType.BOOLEAN:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"1", "true", "yes", "はい", "有", "あり", "○"}:
            return True
        if text in {"0", "false", "no", "いいえ", "無", "なし", "×"}:
            return False
        raise ValueError(_("Enter yes or no."))
    if field_type == CustomFieldType.CHOICE:
        if str(value) not in choices:
            raise ValueError(_("“%(value)s” is not one of the choices.") % {"value": value})
        return str(value)
    if field_type == CustomFieldType.MULTI_CHOICE:
        values = value if isinstance(value, list | tuple) else [part.strip() for part in str(value).split(";") if part.strip()]
        unknown = [str(item) for item in values if str(item) not in choices]
        if unknown:
            raise ValueError(_("“%(value)s” is not one of the choices.") % {"value": ", ".join(unknown)})
        return [str(item) for item in values]
    raise ValueError(_("Unknown field type."))


def clean_custom_values(definitions: Iterable, values: Mapping) -> tuple[dict, dict[str, list[str]]]:
    """Clean every value against its definition (objects with name, field_type, choices, is_required).

    Returns (cleaned values, errors by field name). Unknown names are errors; empty values are dropped.
    """
    by_name = {definition.name: definition for definition in definitions}
    cleaned: dict = {}
    errors: dict[str, list[str]] = {}
    for name, value in values.items():
        definition = by_name.get(name)
        if definition is None:
            errors.setdefault(name, []).append(_("There is no custom field with this name."))
            continue
        try:
            stored = clean_custom_value(definition.field_type, list(definition.choices or []), value)
        except ValueError as error:
            errors.setdefault(name, []).append(str(error))
            continue
        if stored is not None:
            cleaned[name] = stored
    for name, definition in by_name.items():
        if definition.is_required and name not in cleaned and name not in errors:
            errors.setdefault(name, []).append(_("This field is required."))
    return cleaned, errors
