"""Stable error codes of the inquiry intake (the API's `code`)."""

INQUIRY_INVALID = "inquiry_invalid"
UNKNOWN_SOURCE = "unknown_source"
SOURCE_DISABLED = "source_disabled"
