"""Stable error codes of the 名寄せ actions (clients switch on these, messages are translated)."""

INVALID_VALUE = "dedup_invalid_value"
