"""Roles for EVERY route: each page and API route answers each role as the rule it names allows.

The routes are walked (URL resolver and OpenAPI schema, as in test_isolation.py), never listed by hand
for the walk. ROUTE_RULES says which rule of `tenancy/permissions.py` each route applies; the rule
says which roles it allows. Each route is called (GET and POST for pages, its method for the API)
with ids of the company's own objects, all of the unit 渋谷店 (SBY), by:

- an agent, member of SBY (sees the SBY case);
- an org admin of SBY;
- an org admin of 新宿店 (SJK), a sibling unit (does not see the SBY case, administers none of SBY);
- a company admin (everything: proves that every call below reaches its view, so a refusal elsewhere
  is the rule's and not a broken URL).

A route missing from ROUTE_RULES fails with where to add it; a route that answers a role otherwise
than its rule says (allowed = any answer but 403/404; refused = 403 or 404) fails. Each call runs in a
rolled-back savepoint, so a call that writes (a trash, a delete) does not change what the next one sees.

Management commands act as `--as EMAIL` through the same actions (which check the admin rules
themselves) or, without a user, as the operator; tasks take ids of work a checked door accepted:
neither is an HTTP door, so neither is walked here (see tenancy/permissions.py).
"""

import json
import re
from contextlib import contextmanager

import pytest
from django.db import transaction
from django.test import Client

from estatecrm.config.tests.routes import Roles, api_call, api_operations, content_of, fill, project_routes
from estatecrm.config.tests.test_isolation import kwarg_sets
from estatecrm.tenancy.permissions import RULES, allows
from estatecrm.tenancy.selectors import actor_for

pytestmark = pytest.mark.django_db

THIS_FILE = "src/estatecrm/config/tests/test_roles.py"
ROLES = ("agent", "org_admin", "other_unit_admin", "company_admin")
# Who reaches the objects a route names, beyond its rule (the selectors' visibility): the case of SBY
# (and its customer, activities, attachments, the merges it survived) and the lead import into SBY that the agent started.
SEES_THE_CASE = {"agent", "org_admin", "company_admin"}
SEES_THE_RUN = {"agent", "org_admin", "company_admin"}
CASE_KWARGS = {"case_id", "customer_id", "activity_id", "attachment_id", "introduction_id", "dismissal_id", "merge_id"}

# Every route -> the rule of tenancy/permissions.py it applies. Page routes by "namespace:name", API
# routes by "METHOD /api/v1/path". Add your route here (and its rule to RULES when it is a new action).
ROUTE_RULES = {
    # the page shell and the account
    "login": "public",
    "set_language": "public",
    "web:dashboard": "cases",
    "account:home": "account",
    "account:acting_unit": "account",
    "account:notifications": "account",
    "account:password_change": "account",
    "account:password_change_done": "account",
    "account:password_reset": "public",
    "account:password_reset_done": "public",
    "account:password_reset_confirm": "public",
    "account:password_reset_complete": "public",
    "tokens:list": "account",
    "tokens:create": "account",
    "tokens:revoke": "account",
    # cases
    "crm:list": "cases",
    "crm:counts": "cases",
    "crm:bulk": "case_bulk",
    "crm:export": "cases",
    "crm:new": "cases",
    "crm:duplicate-check": "cases",
    "crm:postal-lookup": "cases",
    "crm:detail": "cases",
    "crm:edit": "cases",
    "crm:desired": "cases",
    "crm:customer": "cases",
    "crm:contact-add": "cases",
    "crm:contact-edit": "cases",
    "crm:contact-remove": "cases",
    "crm:review": "cases",
    "crm:activity-add": "cases",
    "crm:next-action": "cases",
    "crm:visit-book": "cases",
    "crm:visit-complete": "cases",
    "visits:calendar": "cases",
    "visits:new": "cases",
    "visits:detail": "cases",
    "visits:move": "cases",
    "visits:complete": "cases",
    "visits:cancel": "cases",
    "crm:attachment-upload": "cases",
    "crm:attachment-download": "cases",
    "crm:trash": "case_trash",
    # inquiries: 反響一覧 and 「取り込めなかった反響」
    "inbox:list": "inquiry_inbox",
    "inbox:inbox": "inquiry_inbox",
    "inbox:reread": "inquiry_inbox",
    "inbox:detail": "inquiry_inbox",
    "inbox:raw": "inquiry_inbox",
    "inbox:assign": "inquiry_inbox",
    "inbox:teach": "inquiry_inbox",
    "inbox:dismiss": "inquiry_inbox",
    "inbox:restore": "inquiry_inbox",
    # 名寄せ
    "dedup:candidates": "dedup",
    "dedup:dismiss": "dedup",
    "dedup:undo_dismissal": "dedup",
    "dedup:merge": "dedup",
    "dedup:merge_confirm": "dedup",
    "dedup:merge_run": "dedup",
    "dedup:merges": "dedup",
    "dedup:merge_undo": "dedup",
    "dedup:shared": "dedup_shared",
    "dedup:settings": "dedup_settings",
    # listings and introductions
    "listings:list": "listings",
    "listings:new": "listings",
    "listings:detail": "listings",
    "listings:edit": "listings",
    "listings:photo-upload": "listings",
    "listings:photo": "listings",
    "listings:photo-remove": "listings_manage",
    "listings:introduce": "listings",
    "listings:reaction": "listings",
    # lead imports and do-not-call
    "leads:list": "lead_imports",
    "leads:new": "lead_imports",
    "leads:mapping": "lead_imports",
    "leads:template": "lead_imports",
    "leads:mappings": "lead_mappings",
    "leads:mapping-delete": "lead_mappings",
    "leads:detail": "lead_imports",
    "leads:abort": "lead_imports",
    "leads:failed-rows": "lead_imports",
    "leads:revert": "lead_imports",
    "leads:dnc": "do_not_call",
    "leads:dnc-export": "do_not_call",
    "leads:dnc-remove": "do_not_call",
    # settings
    "settings:home": "organisation",
    "settings:units": "organisation",
    "settings:unit_create": "organisation",
    "settings:unit_edit": "organisation",
    "settings:users": "organisation",
    "settings:user_invite": "organisation",
    "settings:user": "organisation",
    "settings:user_set_active": "organisation",
    "settings:user_mail_from": "organisation",
    "settings:user_resend_invitation": "organisation",
    "settings:membership_add": "organisation",
    "settings:membership_change": "organisation",
    "settings:workgroups": "workgroups",
    "settings:workgroup_create": "workgroups",
    "settings:workgroup_edit": "workgroups",
    # 異動・退職 and 担当変更履歴
    "staff:home": "staff",
    "staff:transfer": "staff",
    "staff:retire": "staff",
    "staff:cases": "staff",
    "staff:set_successor": "staff",
    "staff:history": "staff",
    "staff:history_detail": "staff",
    "staff:history_undo": "staff",
    "masters:ranks": "masters_edit",
    "masters:rank_edit": "masters_edit",
    "masters:tags": "masters_edit",
    "masters:tag_edit": "masters_edit",
    "masters:statuses": "masters_edit",
    "masters:sub_status_edit": "masters_edit",
    "masters:fields": "masters_edit",
    "masters:field_edit": "masters_edit",
    "masters:projects": "masters_edit",
    "masters:project_edit": "masters_edit",
    "masters:delete": "masters_edit",
    "inquiry_settings:sources": "inquiry_settings",
    "inquiry_settings:source_create": "inquiry_settings",
    "inquiry_settings:source_edit": "inquiry_settings",
    "inquiry_settings:source_set_enabled": "inquiry_settings",
    "inquiry_settings:line": "inquiry_settings",
    # data migration of a unit
    "legacy:home": "legacy_migration",
    "legacy:upload": "legacy_migration",
    "legacy:discard": "legacy_migration",
    "legacy:recompute": "legacy_migration",
    "legacy:upload-status": "legacy_migration",
    "legacy:masters": "legacy_migration",
    "legacy:full": "legacy_migration",
    "legacy:quick": "legacy_migration",
    "legacy:runs": "legacy_migration",
    "legacy:run": "legacy_migration",
    "legacy:run-status": "legacy_migration",
    "legacy:run-abort": "legacy_migration",
    "legacy:run-revert": "legacy_migration",
    "legacy:run-report": "legacy_migration",
    "legacy:run-migrated-ids": "legacy_migration",
    "legacy:run-cases": "legacy_migration",
    "vendor:home": "vendor_migration",
    "vendor:move-in": "vendor_migration",
    "vendor:move-in-status": "vendor_migration",
    "vendor:verdict": "vendor_migration",
    "vendor:report": "vendor_migration",
    "vendor:report-csv": "vendor_migration",
    "vendor:phase-abort": "vendor_migration",
    "vendor:phase-revert": "vendor_migration",
    # the listings feed: public, the key in the URL is the capability (404 without it); its settings page
    "listings_feed:json": "public",
    "listings_feed:xml": "public",
    "listings_feed_settings:home": "listings_feed",
    "listings_feed_settings:create": "listings_feed",
    "listings_feed_settings:rotate": "listings_feed",
    "listings_feed_settings:enabled": "listings_feed",
    # LINE: the webhook is authenticated by LINE's signature, not by a user (401 without it)
    "line:webhook": "public",
    "line:send": "cases",
    # the API
    "GET /api/v1/health": "public",
    "GET /api/v1/cases": "cases",
    "POST /api/v1/cases": "cases",
    "GET /api/v1/cases/{case_id}": "cases",
    "PATCH /api/v1/cases/{case_id}": "cases",
    "POST /api/v1/cases/{case_id}/trash": "case_trash",
    "POST /api/v1/cases/{case_id}/restore": "case_trash",
    "GET /api/v1/cases/{case_id}/desired-conditions": "cases",
    "PUT /api/v1/cases/{case_id}/desired-conditions": "cases",
    "GET /api/v1/cases/{case_id}/activities": "cases",
    "POST /api/v1/cases/{case_id}/activities": "cases",
    "POST /api/v1/activities/{activity_id}/complete": "cases",
    "GET /api/v1/visits": "cases",
    "PATCH /api/v1/visits/{activity_id}": "cases",
    "DELETE /api/v1/visits/{activity_id}": "cases",
    "GET /api/v1/cases/{case_id}/introductions": "listings",
    "GET /api/v1/customers": "cases",
    "POST /api/v1/customers": "customers_manage",
    "GET /api/v1/customers/{customer_id}": "cases",
    "PATCH /api/v1/customers/{customer_id}": "cases",
    "POST /api/v1/customers/{customer_id}/trash": "customers_manage",
    "POST /api/v1/customers/{customer_id}/restore": "customers_manage",
    "GET /api/v1/customers/{customer_id}/contacts": "cases",
    "POST /api/v1/customers/{customer_id}/contacts": "cases",
    "PUT /api/v1/customers/{customer_id}/contacts/{contact_id}": "cases",
    "DELETE /api/v1/customers/{customer_id}/contacts/{contact_id}": "cases",
    "POST /api/v1/cases/{case_id}/review": "cases",
    "GET /api/v1/listings": "listings",
    "POST /api/v1/listings": "listings",
    "GET /api/v1/listings/{listing_id}": "listings",
    "PATCH /api/v1/listings/{listing_id}": "listings",
    "GET /api/v1/cases/{case_id}/matching-listings": "listings",
    "POST /api/v1/cases/{case_id}/introductions": "listings",
    "PATCH /api/v1/cases/{case_id}/introductions/{introduction_id}": "listings",
    "GET /api/v1/ranks": "masters_read",
    "POST /api/v1/ranks": "masters_edit",
    "GET /api/v1/sub-statuses": "masters_read",
    "POST /api/v1/sub-statuses": "masters_edit",
    "GET /api/v1/tags": "masters_read",
    "POST /api/v1/tags": "masters_edit",
    "GET /api/v1/custom-fields": "masters_read",
    "POST /api/v1/custom-fields": "masters_edit",
    "GET /api/v1/projects": "masters_read",
    "POST /api/v1/projects": "masters_edit",
    "GET /api/v1/org-units": "directory",
    "GET /api/v1/org-units/{unit_id}": "directory",
    "GET /api/v1/users": "directory",
    "GET /api/v1/users/{user_id}": "directory",
    "GET /api/v1/runs": "own_runs",
    "GET /api/v1/runs/{run_id}": "own_runs",
    "POST /api/v1/runs/{run_id}/abort": "run_abort",
    "POST /api/v1/lead-imports/detect": "lead_imports",
    "POST /api/v1/lead-imports/dry-run": "lead_imports",
    "POST /api/v1/lead-imports": "lead_imports",
    "GET /api/v1/lead-imports": "lead_imports",
    "GET /api/v1/lead-imports/{import_id}": "lead_imports",
    "POST /api/v1/lead-imports/{import_id}/abort": "lead_imports",
    "GET /api/v1/lead-imports/{import_id}/failed-rows": "lead_imports",
    "POST /api/v1/lead-imports/{import_id}/revert": "lead_imports",
    "GET /api/v1/do-not-call": "do_not_call",
    "DELETE /api/v1/do-not-call/{entry_id}": "do_not_call",
    "POST /api/v1/inquiries": "inquiries_submit",
    "POST /api/v1/cases/{case_id}/line-messages": "cases",
    "GET /api/v1/dedup/candidates": "dedup",
    "POST /api/v1/dedup/dismissals": "dedup",
    "DELETE /api/v1/dedup/dismissals/{dismissal_id}": "dedup",
    "POST /api/v1/dedup/merges": "dedup",
    "GET /api/v1/dedup/merges": "dedup",
    "GET /api/v1/dedup/merges/{merge_id}": "dedup",
    "POST /api/v1/dedup/merges/{merge_id}/undo": "dedup",
    "GET /api/v1/dedup/shared-values": "dedup_shared",
    "PUT /api/v1/dedup/shared-values": "dedup_shared",
    "GET /api/v1/dedup/settings": "dedup_settings",
    "PUT /api/v1/dedup/settings": "dedup_settings",
    "GET /api/v1/staff/users/{user_id}/plan": "staff",
    "POST /api/v1/staff/users/{user_id}/transfer": "staff",
    "POST /api/v1/staff/users/{user_id}/retire": "staff",
    "POST /api/v1/staff/reassign": "staff",
    "POST /api/v1/staff/users/{user_id}/successor": "staff",
    "GET /api/v1/staff/reassignments": "staff",
    "GET /api/v1/staff/reassignments/{reassignment_id}": "staff",
    "POST /api/v1/staff/reassignments/{reassignment_id}/undo": "staff",
    "GET /api/v1/vendor/move-ins": "vendor_migration",
    "GET /api/v1/vendor/move-ins/{move_in_id}": "vendor_migration",
    "GET /api/v1/vendor/move-ins/{move_in_id}/phases/{phase}/verification": "vendor_migration",
    "POST /api/v1/vendor/move-ins/{move_in_id}/verdict": "vendor_migration",
    "POST /api/v1/vendor/move-ins/{move_in_id}/phases/{phase}/revert": "vendor_migration",
    "POST /api/v1/vendor/move-ins/{move_in_id}/phases/{phase}/abort": "vendor_migration",
}

# Ids in request bodies (the schema's minimal body says 1): the company's own object, whatever the database numbered it.
BODY_IDS = {"project_id": lambda objects: objects.project.pk,
            # a transfer's target: the unit the agent is in already (refused as same_unit, past the rule)
            "to_unit": lambda objects: objects.unit.pk}


def with_own_ids(body, content_type, objects):
    if isinstance(body, dict):
        return {**body, **{name: factory(objects) for name, factory in BODY_IDS.items() if name in body}}
    if content_type == "application/json" and body:
        values = json.loads(body)
        if isinstance(values, dict):
            values.update({name: factory(objects) for name, factory in BODY_IDS.items() if name in values})
        return json.dumps(values)
    return body


# Routes not walked, with the reason.
NOT_WALKED = {
    "logout": "would end the session the walk needs (it answers every user alike)",
}
NOT_WALKED_PREFIXES = {
    "admin/": "Django admin: superusers only (test_isolation.py checks a company user is sent to its login)",
    "api/v1/": "the API: walked through its OpenAPI schema",
    "static/": "static files",
    "media/": "served only in DEBUG",
}
# Query strings a route needs to answer its normal way (the postal lookup says 404 for an unknown code).
QUERIES = {"crm:postal-lookup": "?code=1500002"}
# POST data a route needs to reach its action (an unknown membership operation is a 404).
POST_DATA = {"settings:membership_change": {"operation": "primary"}}
# Page routes whose URL kwargs are not the company's object ids (the same answer for every user).
NOT_OBJECT_ROUTES = {"account:password_reset_confirm"}


def kwarg_values(key: str, kwargs: list[str], roles: Roles, role: str, unknown: list[str]) -> list[dict]:
    """The ids of the role's company's objects for a route: test_isolation.py's factories, with the run
    of the route's kind and the acting user's own token (a token is only ever its owner's)."""
    roles.objects.objects["token"] = roles.objects.tokens[role][0]
    value_sets = kwarg_sets(key, kwargs, roles.objects, unknown)
    for values in value_sets:
        if key.startswith("legacy:") and "run_id" in values:
            values["run_id"] = roles.objects.legacy_run.pk
    return value_sets


def expected_allowed(roles: Roles, role: str, rule_name: str, *, kwargs) -> bool:
    """What the rule says for this role; a route naming an object of SBY is checked on SBY (unit-scoped
    rules), and a route naming the case or the run answers only who reaches it."""
    actor = actor_for(roles.users[role])
    if set(kwargs) & CASE_KWARGS and role not in SEES_THE_CASE:
        return False
    if "run_id" in kwargs and role not in SEES_THE_RUN:
        return False
    return allows(actor, rule_name, unit_id=roles.objects.unit.pk if kwargs else None)


@contextmanager
def rolled_back():
    """Undo whatever the call wrote. Marked like a test case's own block, so the durable actions the
    call runs (`atomic(durable=True)`) still open inside it."""
    block = transaction.atomic()
    block._from_testcase = True
    with block:
        yield
        transaction.set_rollback(True)


def outcome(response) -> str:
    if response.status_code >= 500:
        return f"error {response.status_code}"
    return "refused" if response.status_code in (403, 404) else "allowed"


def is_api_key(key: str) -> bool:
    return " /api/" in key


def check_rule_table(walked: set[str], *, api: bool) -> None:
    declared = {key for key in ROUTE_RULES if is_api_key(key) == api}
    missing = sorted(walked - declared)
    unknown_rules = sorted(f"{key}: {ROUTE_RULES[key]}" for key in declared if ROUTE_RULES[key] not in RULES)
    stale = sorted(declared - walked)
    problems = []
    if missing:
        problems.append("These routes name no rule, so nobody declared who may call them:\n  " + "\n  ".join(missing)
                        + f"\nAdd each to ROUTE_RULES in {THIS_FILE} with the rule of src/estatecrm/tenancy/permissions.py it applies.")
    if unknown_rules:
        problems.append("These routes name a rule that tenancy/permissions.py does not have:\n  " + "\n  ".join(unknown_rules))
    if stale:
        problems.append(f"ROUTE_RULES in {THIS_FILE} names routes that do not exist any more:\n  " + "\n  ".join(stale))
    if problems:
        pytest.fail("\n".join(problems))


@pytest.mark.parametrize("role", ROLES)
def test_every_page_answers_each_role_as_its_rule_says(roles, role):
    # given: the role's user, logged in
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(roles.users[role])
    unknown: list[str] = []
    walked: set[str] = set()
    wrong: list[str] = []
    # when: every page route, GET and POST, with the ids of the company's own objects
    for route in project_routes():
        key = route.name or route.route
        if route.route.startswith(tuple(NOT_WALKED_PREFIXES)) or key in NOT_WALKED:
            continue
        walked.add(key)
        if key not in ROUTE_RULES or ROUTE_RULES[key] not in RULES:
            continue
        names_an_object = bool(route.kwargs) and key not in NOT_OBJECT_ROUTES
        if key in NOT_OBJECT_ROUTES:
            value_sets = [{name: "x" for name in route.kwargs}]
        elif route.kwargs:
            value_sets = kwarg_values(key, route.kwargs, roles, role, unknown)
        else:
            value_sets = [{}]
        object_kwargs = route.kwargs if names_an_object else []
        expected = "allowed" if expected_allowed(roles, role, ROUTE_RULES[key], kwargs=object_kwargs) else "refused"
        for values in value_sets:
            url = fill(route.route, values) + QUERIES.get(key, "")
            answers = {}
            for method in ("get", "post"):
                with rolled_back():
                    response = client.post(url, POST_DATA.get(key, {})) if method == "post" else client.get(url)
                if response.status_code != 405:
                    answers[method] = outcome(response)
            # then: every method the route answers, as its rule says
            if not answers or set(answers.values()) != {expected}:
                wrong.append(f"{url} ({key}, rule {ROUTE_RULES[key]!r}): expected {expected}, got {answers}")
    check_rule_table(walked, api=False)
    assert not unknown, f"routes with URL kwargs without a factory (add them in test_isolation.py): {unknown}"
    assert not wrong, f"{role}:\n  " + "\n  ".join(wrong)


@pytest.mark.parametrize("role", ROLES)
def test_every_api_route_answers_each_role_as_its_rule_says(roles, role):
    # given: the role's personal API token
    client = Client()
    headers = {"HTTP_ACCEPT_LANGUAGE": "en", "HTTP_IF_MATCH": "*", "HTTP_AUTHORIZATION": f"Bearer {roles.objects.tokens[role][1]}"}
    unknown: list[str] = []
    walked: set[str] = set()
    wrong: list[str] = []
    # when: every operation of the OpenAPI schema, with the ids of the company's own objects
    for path, method, body, content_type in api_operations():
        key = f"{method.upper()} {path}"
        walked.add(key)
        if key not in ROUTE_RULES or ROUTE_RULES[key] not in RULES:
            continue
        names = re.findall(r"{(\w+)}", path)
        expected = "allowed" if expected_allowed(roles, role, ROUTE_RULES[key], kwargs=names) else "refused"
        for values in (kwarg_values(key, names, roles, role, unknown) if names else [{}]):
            url = path
            for name, value in values.items():
                url = url.replace("{" + name + "}", str(value))
            with rolled_back():
                response = api_call(client, method, url, with_own_ids(body, content_type, roles.objects), content_type, headers)
            # then
            if outcome(response) != expected:
                wrong.append(f"{method.upper()} {url} (rule {ROUTE_RULES[key]!r}): expected {expected}, got {response.status_code} "
                             f"{content_of(response)[:200]}")
    check_rule_table(walked, api=True)
    assert not unknown, f"API routes with path parameters without a factory (add them in test_isolation.py): {unknown}"
    assert not wrong, f"{role}:\n  " + "\n  ".join(wrong)
