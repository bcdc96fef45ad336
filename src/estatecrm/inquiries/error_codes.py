"""Stable error codes of the inquiry intake (the API's `code`)."""

INQUIRY_INVALID = "inquiry_invalid"
UNKNOWN_SOURCE = "unknown_source"
SOURCE_DISABLED = "source_disabled"
# 「取り込めなかった反響」
INQUIRY_RESOLVED = "inquiry_resolved"
INQUIRY_STALE = "inquiry_stale"
INQUIRY_TAKEN_ELSEWHERE = "inquiry_taken_elsewhere"
LABELS_INVALID = "labels_invalid"
DISMISSAL_INVALID = "dismissal_invalid"
ASSIGNMENT_INVALID = "assignment_invalid"
