"""Stable error codes of the move-in from another vendor (the command's `refused`, the API's `code`)."""

PROFILE_UNKNOWN = "profile_unknown"  # no built-in profile of that name and no such file
PROFILE_INVALID = "profile_invalid"  # the YAML is not a valid profile (the message says where)
PACKAGE_UNREADABLE = "package_unreadable"  # not a ZIP or a folder, a damaged member, an unreadable file
PACKAGE_INCOMPLETE = "package_incomplete"  # files or columns the profile needs are missing
AGENTS_UNKNOWN = "agents_unknown"  # agents of the package that are not users of the company (listed)
PHASE_ORDER = "phase_order"  # the archive phase before the active phase completed
MOVE_IN_RUNNING = "move_in_running"  # a phase of this move-in is still running
EDITED_SINCE = "edited_since"  # what the phase loaded was changed since (listed); a forced revert goes ahead
NOT_REVERTIBLE = "not_revertible"  # the run cannot be reverted (not finished, reverted, a later phase stands)
VERDICT_INVALID = "verdict_invalid"  # problems reported without a comment, or no phase finished yet
