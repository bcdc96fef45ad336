"""Column orders for writing customers and cases in bulk (`pipeline.bulk.insert_rows`), shared by every
importer: a value tuple of a loader lines up with these names, so a new model field is added in one place."""

CUSTOMER_COLUMNS = (
    "id", "company_id", "kind", "name", "name_key", "kana", "kana_key", "gender", "birth_date", "postal_code", "prefecture",
    "city", "street", "building", "employer", "annual_income", "household_size", "homepage", "line_link_number",
    "line_user_id", "is_unsubscribed", "custom_values", "created_at", "updated_at", "deleted_at",
)
CONTACT_COLUMNS = ("id", "company_id", "customer_id", "name", "kana", "position", "created_at", "updated_at")
POINT_COLUMNS = ("company_id", "contact_id", "customer_id", "kind", "raw", "normalized", "invalid_reason", "position")
CASE_COLUMNS = (
    "id", "company_id", "customer_id", "kind", "status", "sub_status_id", "rank_id", "owning_org_id", "main_assignee_id",
    "project_id", "origin", "source_system", "source_id", "started_on", "first_inquiry_date", "first_inquiry_source",
    "first_inquiry_listing_ref", "first_inquiry_listing_name", "auto_intro_mail", "other_info", "needs_review",
    "review_messages", "custom_values", "next_action_at", "next_action", "last_contact_at", "created_at", "updated_at", "deleted_at",
)
