"""The outcome of a normalizer: the normalized value, or the stable reason it could not be normalized."""

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


def gettext_noop(message: str) -> str:
    """Mark `message` for makemessages without translating it: this package has no Django, the
    Django layer translates `MESSAGES[reason]` when it shows one."""
    return message


@dataclass(frozen=True, slots=True)
class Result(Generic[T]):
    """`value` when the input could be normalized (`reason` is None), else `reason`, a stable
    snake_case code that is a key of `MESSAGES` (`value` is None)."""

    value: T | None
    reason: str | None = None

    @property
    def is_valid(self) -> bool:
        return self.reason is None

    @classmethod
    def ok(cls, value: T) -> "Result[T]":
        return cls(value, None)

    @classmethod
    def invalid(cls, reason: str) -> "Result[T]":
        return cls(None, reason)


MESSAGES: dict[str, str] = {
    "empty": gettext_noop("The value is empty."),
    "too_short": gettext_noop("The phone number is too short."),
    "too_long": gettext_noop("The phone number is too long."),
    "not_a_number": gettext_noop("This is not a phone number."),
    "invalid_number": gettext_noop("This is not a valid phone number."),
    "invalid_email": gettext_noop("This is not a valid e-mail address."),
    "not_kana": gettext_noop("The reading must be written in kana."),
    "invalid_date": gettext_noop("This is not a valid date."),
    "outside_era": gettext_noop("The date lies outside its Japanese era."),
    "unknown_era": gettext_noop("This Japanese era is not known."),
    "invalid_postal_code": gettext_noop("A postal code has 7 digits, e.g. 150-0002."),
    "invalid_prefecture": gettext_noop("This is not one of the 47 prefectures."),
}
