"""Stable error codes of the 名寄せ actions (clients switch on these, messages are translated)."""

SAME_CASE = "same_case"
NOT_DISMISSED = "not_dismissed"
SHARED_VALUE_INVALID = "shared_value_invalid"
SETTINGS_INVALID = "duplicate_settings_invalid"
