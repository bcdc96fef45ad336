"""Stable error codes of 名寄せ (clients switch on these, messages are translated)."""

MERGE_INVALID = "merge_invalid"
MERGE_CONFLICT = "merge_conflict"
MERGE_LINE_UNITS = "merge_line_units"
UNDO_ALREADY_DONE = "undo_already_done"
UNDO_EXPIRED = "undo_expired"
UNDO_LATER_MERGE = "undo_later_merge"
# dismissals, shared values, settings (dedup/actions.py)
SAME_CASE = "same_case"
NOT_DISMISSED = "not_dismissed"
SHARED_VALUE_INVALID = "shared_value_invalid"
SETTINGS_INVALID = "duplicate_settings_invalid"
