"""Stable error codes of the tenancy actions (clients switch on these, messages are translated)."""

ORG_UNIT_CYCLE = "org_unit_cycle"
EMAIL_TAKEN = "email_taken"
LAST_COMPANY_ADMIN = "last_company_admin"
CANNOT_DEACTIVATE_SELF = "cannot_deactivate_self"
PRIMARY_MEMBERSHIP = "primary_membership"
WORKGROUP_NAME_TAKEN = "workgroup_name_taken"
ORG_UNIT_CODE_TAKEN = "org_unit_code_taken"
# A user who is the default assignee of an inquiry source or of the LINE channel (tenancy.holds).
DEFAULT_ASSIGNEE = "default_assignee"
# A user who is main assignee of live cases that the change would leave without anyone seeing them.
HAS_CASES = "has_cases"
INVALID_EMAIL = "invalid_email"
CONFIRMATION_REQUIRED = "confirmation_required"
