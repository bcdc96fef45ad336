"""Form fields shared by the apps' forms (structure only)."""

from django import forms
from django.core.exceptions import ValidationError

from estatecrm.core.ids import parse_id


class IdsMultipleChoiceField(forms.ModelMultipleChoiceField):
    """ModelMultipleChoiceField whose posted ids are checked with parse_id before any query.

    Django's own field queries `pk IN (...)` with whatever was posted, and SQLite raises
    OverflowError (a 500) on an integer beyond 64 bits: such a value is an invalid choice instead.
    """

    def _check_values(self, value):
        try:
            values = frozenset(value)
        except TypeError:
            raise ValidationError(self.error_messages["invalid_list"], code="invalid_list") from None
        for item in values:
            if parse_id(str(item)) is None:
                raise ValidationError(self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": item})
        return super()._check_values(values)
