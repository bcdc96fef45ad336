"""Stable error codes of 名寄せ (clients switch on these, messages are translated)."""

MERGE_INVALID = "merge_invalid"
MERGE_CONFLICT = "merge_conflict"
MERGE_LINE_UNITS = "merge_line_units"
UNDO_ALREADY_DONE = "undo_already_done"
UNDO_EXPIRED = "undo_expired"
UNDO_LATER_MERGE = "undo_later_merge"

# The pages' own actions (dedup/actions.py).
INVALID_VALUE = "dedup_invalid_value"
