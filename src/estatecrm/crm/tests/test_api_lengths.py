"""Every text the API takes is bounded by the column it lands in: a longer value is a 422 with the field,
never a 500 from the database (PostgreSQL) nor a value stored longer (SQLite) or cut short. Generated from
the OpenAPI document, so a new request schema or field is covered."""

import pytest
from django.db import models

from estatecrm.crm.models import (
    Activity,
    Case,
    Contact,
    ContactPoint,
    Customer,
    CustomField,
    DuplicateSettings,
    Listing,
    ListingStation,
    Project,
    Rank,
    Reassignment,
    SharedContactValue,
    SubStatus,
    Tag,
)
from estatecrm.crm.tests.test_api import Api
from estatecrm.inquiries.models import Inquiry
from estatecrm.vendor.models import VerdictRecord

pytestmark = pytest.mark.django_db

# The model each JSON request schema writes (its same-named fields are that model's columns).
SCHEMA_MODELS = {
    "CustomerIn": Customer, "CustomerUpdateIn": Customer, "ContactIn": Contact, "CaseCreateIn": Case, "CaseUpdateIn": Case,
    "ActivityIn": Activity, "NamedMasterIn": Rank, "TagIn": Tag, "SubStatusIn": SubStatus, "CustomFieldIn": CustomField,
    "ProjectIn": Project, "DesiredConditionsIn": None, "RevertIn": None, "ContactEditIn": Contact, "ContactPointIn": ContactPoint,
    "ReviewIn": Case, "VisitMoveIn": Activity,
    "ListingIn": Listing, "ListingUpdateIn": Listing, "StationIn": ListingStation, "IntroduceIn": None, "ReactionIn": None,
    # POST /inquiries: the customer's name and reading land in Customer, the id in Inquiry; the listing's texts are read by
    # the intake (a price, a layout, a station line), not stored as sent.
    "InquiryIn": Inquiry, "InquiryCustomerIn": Customer, "InquiryListingIn": None,
    # inquiries: a LINE text (at most LINE's 5,000 characters, stored as text)
    "LineMessageIn": None,
    # 名寄せ: ids and flags; a shared value as typed (normalized by the action) with its note; the settings
    "PairIn": None, "MergeIn": None, "SharedValueIn": SharedContactValue, "DuplicateSettingsIn": DuplicateSettings,
    # 異動・退職: ids and flags; the handover note (a text column, bounded by the action's 2,000 characters); a role's key
    "TransferIn": Reassignment, "RetireIn": Reassignment, "ReassignIn": Reassignment, "SuccessorIn": None,
    # データ移行（他社CRM）: the verdict's comment (a text column, bounded by the action's 4,000 characters)
    "VerdictIn": VerdictRecord,
}
# Strings stored without a length (text and JSON columns): bounded by the request size only.
UNBOUNDED = {("CaseCreateIn", "other_info"), ("CaseUpdateIn", "other_info"), ("DesiredConditionsIn", "lines_stations[]"),
             ("DesiredConditionsIn", "areas[]"), ("CustomFieldIn", "choices[]")}
# Values the action normalizes before storing them: the request admits the longer typed form
# (`〒150-0002`, `１５０－０００２`), the action refuses what does not normalize into the column.
NORMALIZED_BY_THE_ACTION = {("CustomerIn", "postal_code"), ("CustomerUpdateIn", "postal_code")}


def request_schemas(document) -> set[str]:
    names = set()
    for operations in document["paths"].values():
        for operation in operations.values():
            content = operation.get("requestBody", {}).get("content", {})
            for media in content.values():
                reference = media.get("schema", {}).get("$ref", "")
                if reference:
                    names.add(reference.rsplit("/", 1)[-1])
    pending = list(names)
    while pending:  # nested schemas (CaseCreateIn.customer -> CustomerIn -> ContactIn)
        for reference in references(document["components"]["schemas"][pending.pop()]):
            if reference not in names:
                names.add(reference)
                pending.append(reference)
    return names


def references(node) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"].rsplit("/", 1)[-1]] if "$ref" in node else []
        return found + [item for value in node.values() for item in references(value)]
    if isinstance(node, list):
        return [item for value in node for item in references(value)]
    return []


def string_properties(schema: dict) -> dict[str, dict]:
    """name (name[] for list items) -> the string schema, for every free-text property (no enum, format or pattern)."""
    found = {}
    for name, spec in schema.get("properties", {}).items():
        options = spec.get("anyOf", [spec])
        if any(option.get("type") in ("number", "integer") for option in options):
            continue  # a decimal (a number, or its text)
        for option in options:
            if option.get("type") == "string" and not {"enum", "format", "pattern"} & set(option):
                found[name] = option
            items = option.get("items", {})
            if option.get("type") == "array" and items.get("type") == "string" and "enum" not in items:
                found[f"{name}[]"] = items
    return found


def test_every_text_of_every_request_schema_has_the_length_of_its_column(client):
    # given
    from estatecrm.config.api import api

    document = api.get_openapi_schema()
    components = document["components"]["schemas"]
    schemas = {name for name in request_schemas(document) if "properties" in components[name]}
    # then: every request schema is known here (a new one must say which model it writes)
    assert schemas == set(SCHEMA_MODELS)
    unbounded = set()
    for name in sorted(schemas):
        model = SCHEMA_MODELS[name]
        for field, spec in string_properties(components[name]).items():
            if "maxLength" not in spec:
                unbounded.add((name, field))
                continue
            column = field.removesuffix("[]")
            if model is not None and column in {item.name for item in model._meta.fields}:
                model_field = model._meta.get_field(column)
                if isinstance(model_field, models.CharField) and (name, field) in NORMALIZED_BY_THE_ACTION:
                    assert spec["maxLength"] >= model_field.max_length, (name, field)
                elif isinstance(model_field, models.CharField):
                    assert spec["maxLength"] == model_field.max_length, (name, field)
    assert unbounded == UNBOUNDED


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "ア" * 201}, "name"),
    ({"name": "佐藤", "city": "ア" * 101}, "city"),
    ({"name": "佐藤", "contacts": [{"name": "佐藤", "phones": ["0" * 301]}]}, "contacts.0.phones.0"),
    ({"name": "佐藤", "contacts": [{"name": "佐藤", "emails": ["a" * 301]}]}, "contacts.0.emails.0"),
])
def test_a_customer_value_longer_than_its_column_is_a_422_and_nothing_is_written(client, company_admin, body, field):
    # when
    response = Api(client, company_admin).post("/customers", body)
    # then
    assert response.status_code == 422
    assert field in response.json()["error"]["fields"]
    assert Customer.objects.unscoped().count() == 0


def test_a_customer_value_at_its_column_length_is_stored_whole(client, company_admin):
    # given
    limit = ContactPoint._meta.get_field("raw").max_length
    # a valid number, padded with separators to the column's length (an invalid one is refused, not stored)
    phone = "090" + "-" * (limit - 11) + "12345678"
    body = {"name": "ア" * Customer._meta.get_field("name").max_length, "contacts": [{"name": "佐藤", "phones": [phone]}]}
    # when
    response = Api(client, company_admin).post("/customers", body)
    # then
    assert response.status_code == 201
    assert (ContactPoint.objects.unscoped().get().raw, ContactPoint.objects.unscoped().get().normalized) == (phone, "+819012345678")
    assert Customer.objects.unscoped().get().name == body["name"]
