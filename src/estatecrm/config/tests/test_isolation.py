"""Tenant isolation for EVERY route: a user of company B gets 404 for company A's ids, pages and API alike.

The routes are not listed by hand: the test walks the project's URL resolver and the API's OpenAPI
schema, so a route added later is covered the day it is added. Each URL kwarg is filled by a factory
of KWARG_FACTORIES (or, for a kwarg whose meaning depends on the route such as `pk`, by
ROUTE_KWARG_FACTORIES); a kwarg with no factory makes the test fail with a message saying where to
add one.

Company B's user is a company administrator, so admin-only pages reach their object lookup and
answer for isolation, not for the role.
"""

import re
from dataclasses import dataclass, field

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from estatecrm.audit.models import AuditEvent
from estatecrm.config.tests.routes import api_call, api_operations, content_of, fill, project_routes
from estatecrm.core import testing
from estatecrm.core.scope import company_scope
from estatecrm.crm import actions as crm_actions
from estatecrm.crm.models import Attachment, Contact, Introduction, Listing, ListingPhoto
from estatecrm.inquiries.models import Inquiry, InquirySource
from estatecrm.listings.models import ListingFeed
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.models import Run
from estatecrm.tenancy.actions import do_upsert_workgroup
from estatecrm.tenancy.models import Membership
from estatecrm.tenancy.selectors import actor_for
from estatecrm.tenancy.tokens import do_create_api_token

pytestmark = pytest.mark.django_db

THIS_FILE = "src/estatecrm/config/tests/test_isolation.py"
SECRET_CUSTOMER = "機密 顧客"
SECRET_EMAIL = "secret-a@acme.example.jp"
FEED_SECRET = "isolation-feed-secret-0123456789"


@dataclass
class CompanyA:
    """One object of every kind that a route can name, all of company A."""

    objects: dict = field(default_factory=dict)

    def __getattr__(self, name):
        try:
            return self.objects[name]
        except KeyError:
            raise AttributeError(name) from None


@pytest.fixture
def company_a(company, org, company_admin):
    from estatecrm.leads.models import DoNotCallEntry, SavedMapping

    secret_user = testing.make_user(company, org["SBY"], email=SECRET_EMAIL, name="機密 担当")
    case = testing.make_case(company, org["SBY"], main_assignee=secret_user, customer_name=SECRET_CUSTOMER)
    rank, _ = crm_actions.do_upsert_rank(company=company, name="機密ランク")
    tag, _ = crm_actions.do_upsert_tag(company=company, name="機密タグ")
    sub_status, _ = crm_actions.do_upsert_sub_status(company=company, status="追客中", name="機密サブ")
    custom_field, _ = crm_actions.do_upsert_custom_field(company=company, name="機密項目", field_type="text")
    project, _ = crm_actions.do_upsert_project(company=company, name="機密プロジェクト", custom_fields=[custom_field])
    workgroup, _ = do_upsert_workgroup(company=company, name="機密チーム", members=[secret_user])
    with company_scope(company):
        visit = crm_actions.do_book_visit(actor=actor_for(company_admin), case=case, visit_at=timezone.now())
    attachment = Attachment.objects.create(company=company, case=case, file="attachments/secret.txt", original_name="secret.txt",
                                           size=1, uploaded_at=timezone.now())
    listing = Listing.objects.create(company=company, ref="SECRET-1", name="機密物件")
    photo = ListingPhoto.objects.create(company=company, listing=listing, file="listings/secret.png", original_name="secret.png", size=8,
                                        content_type="image/png", uploaded_at=timezone.now())
    introduction = Introduction.objects.create(company=company, case=case, listing=listing, listing_ref="SECRET-1", listing_name="機密物件")
    run = Run.objects.create(company=company, kind="lead_import", status=RunStatus.COMPLETED, token="secret-run",
                             created_by=company_admin, source_name="secret.csv")
    entry = DoNotCallEntry.objects.create(company=company, name="機密 リード", phone="+819000000000", phone_raw="090-0000-0000")
    saved_mapping = SavedMapping.objects.create(company=company, project=project, name="機密マッピング", mapping={"氏名": "name"})
    token, _clear = do_create_api_token(user=secret_user, name="機密トークン", acting_user=secret_user)
    source = InquirySource.objects.create(company=company, code="secret", name="機密ソース", org_unit=org["SBY"], default_assignee=secret_user)
    # A mail waiting in 「取り込めなかった反響」 (no source recognized it: every admin of the company may sort it out).
    inquiry = Inquiry.objects.create(company=company, channel="eml", status="unmatched", received_at=timezone.now(), sender="secret@example.jp",
                                     subject="機密の反響", message_id="secret@example.jp",
                                     raw=b"From: secret@example.jp\r\nSubject: secret\r\nMessage-ID: <secret@example.jp>\r\n\r\nsecret\r\n")
    membership = Membership.objects.for_company(company).get(user=secret_user)
    from estatecrm.dedup.tests.page_factories import dedup_objects

    dismissal, merge = dedup_objects(company, org["SBY"], case, secret_user)
    return CompanyA({
        "dismissal": dismissal, "merge": merge,
        # The listings feed's routes name it: made here, not during a walk that counts the rows it writes.
        "listing_feed": ListingFeed.objects.create(company=company, secret=FEED_SECRET),
        "company": company, "case": case, "customer": case.customer, "visit": visit, "attachment": attachment, "listing": listing,
        "photo": photo, "introduction": introduction, "unit": org["SBY"], "user": secret_user, "membership": membership, "workgroup": workgroup, "rank": rank, "tag": tag,
        "sub_status": sub_status, "custom_field": custom_field, "project": project, "run": run, "entry": entry, "token": token,
        "saved_mapping": saved_mapping, "source": source, "inquiry": inquiry,
    })


# URL kwarg name -> company A's value for it. Add an entry when you add a route with a new kwarg.
KWARG_FACTORIES = {
    "case_id": lambda a: a.case.pk,
    "customer_id": lambda a: a.customer.pk,
    "contact_id": lambda a: Contact.objects.for_company(a.customer.company_id).filter(customer=a.customer).order_by("pk").first().pk,
    "activity_id": lambda a: a.visit.pk,
    "attachment_id": lambda a: a.attachment.pk,
    "listing_id": lambda a: a.listing.pk,
    "photo_id": lambda a: a.photo.pk,
    "introduction_id": lambda a: a.introduction.pk,
    "unit_id": lambda a: a.unit.pk,
    "user_id": lambda a: a.user.pk,
    "run_id": lambda a: a.run.pk,
    "import_id": lambda a: a.run.pk,
    "entry_id": lambda a: a.entry.pk,
    "token_id": lambda a: a.token.pk,
    "membership_id": lambda a: a.membership.pk,
    "workgroup_id": lambda a: a.workgroup.pk,
    "mapping_id": lambda a: a.saved_mapping.pk,
    "source_id": lambda a: a.source.pk,
    "inquiry_id": lambda a: a.inquiry.pk,
    "dismissal_id": lambda a: a.dismissal.pk,
    "merge_id": lambda a: a.merge.pk,
    "reassignment_id": lambda a: reassignment_of(a).pk,
    # データ移行（他社CRM）: a move-in of company A whose active phase ended, and that phase.
    "move_in_id": lambda a: move_in_of(a).pk,
    "phase": lambda a: "active",
    # A bundle uploaded for company A's unit on the data migration pages (files in storage, no row).
    "upload_token": lambda a: __import__("estatecrm.legacy.tests.factories", fromlist=["make_stored_upload"]).make_stored_upload(
        a.company, a.unit),
}

# Kwargs whose meaning depends on the route (`pk`, `kind`): "namespace:url_name" -> list of kwarg sets.
ROUTE_KWARG_FACTORIES = {
    "masters:rank_edit": lambda a: [{"pk": a.rank.pk}],
    "masters:tag_edit": lambda a: [{"pk": a.tag.pk}],
    "masters:sub_status_edit": lambda a: [{"pk": a.sub_status.pk}],
    "masters:field_edit": lambda a: [{"pk": a.custom_field.pk}],
    "masters:project_edit": lambda a: [{"pk": a.project.pk}],
    "masters:delete": lambda a: [{"kind": "ranks", "pk": a.rank.pk}, {"kind": "tags", "pk": a.tag.pk},
                                 {"kind": "sub-statuses", "pk": a.sub_status.pk}, {"kind": "fields", "pk": a.custom_field.pk},
                                 {"kind": "projects", "pk": a.project.pk}],
    "settings:unit_edit": lambda a: [{"pk": a.unit.pk}],
    "settings:user": lambda a: [{"pk": a.user.pk}],
    "settings:user_set_active": lambda a: [{"pk": a.user.pk}],
    "settings:user_mail_from": lambda a: [{"pk": a.user.pk}],
    "settings:user_resend_invitation": lambda a: [{"pk": a.user.pk}],
    "settings:membership_add": lambda a: [{"pk": a.user.pk}],
    "settings:membership_change": lambda a: [{"pk": a.membership.pk}],
    "settings:workgroup_edit": lambda a: [{"pk": a.workgroup.pk}],
    # 担当変更履歴: a reassignment of company A's agent out of SBY.
    "staff:history_detail": lambda a: [{"pk": reassignment_of(a).pk}],
    "staff:history_undo": lambda a: [{"pk": reassignment_of(a).pk}],
    # The company's LINE webhook, with a LINE channel so that it answers (401 without LINE's signature).
    "line:webhook": lambda a: [{"company_code": line_channel_of(a).company.code}],
    # The company's listings feed at its key (public: the key is the capability).
    "listings_feed:json": lambda a: [{"key": listing_feed_of(a).key}],
    "listings_feed:xml": lambda a: [{"key": listing_feed_of(a).key}],
}


def reassignment_of(a: CompanyA):
    from estatecrm.crm.models import Reassignment

    if "reassignment" not in a.objects:
        a.objects["reassignment"] = Reassignment.objects.create(company=a.company, kind="reassign", agent=a.user, to_user=a.user,
                                                                 from_unit=a.unit, handover_note="機密メモ")
    return a.objects["reassignment"]


def move_in_of(a: CompanyA):
    from estatecrm.vendor.tests.verify_factories import make_move_in, make_run

    if "move_in" not in a.objects:
        move_in = make_move_in(a.company, None, vendor="機密ベンダー")
        move_in.active_run = make_run(a.company, None, move_in=move_in)
        move_in.save(update_fields=["active_run"])
        a.objects["move_in"] = move_in
    return a.objects["move_in"]


def line_channel_of(a: CompanyA):
    from estatecrm.inquiries.models import LineChannel

    channel, _created = LineChannel.objects.for_company(a.company).get_or_create(
        company=a.company, defaults={"channel_secret": "roles-secret", "channel_access_token": "roles-token", "org_unit": a.unit})
    return channel


def listing_feed_of(a: CompanyA):
    """Company A's listings feed (test_roles.py's objects make none: made on first use)."""
    if "listing_feed" not in a.objects:
        a.objects["listing_feed"] = ListingFeed.objects.create(company=a.company, secret=FEED_SECRET)
    return a.objects["listing_feed"]


# Routes whose kwargs are not tenant object ids (they answer any visitor alike): checked for leaks, not for 404.
NON_TENANT_KWARG_ROUTES = {
    # The listings feed answers whoever has the key (that is its purpose): company A's id with any other secret
    # (a guess, a rotated key) answers 404 and nothing of company A.
    "listings_feed:json": lambda a: [{"key": f"{listing_feed_of(a).company_id}_not-the-secret-0123456789"}],
    "listings_feed:xml": lambda a: [{"key": f"{listing_feed_of(a).company_id}_not-the-secret-0123456789"}],
    # A reset link of company A's user with a wrong token: the "invalid link" page, nothing of the user.
    "account:password_reset_confirm": lambda a: [{"uidb64": urlsafe_base64_encode(force_bytes(a.user.pk)), "token": "set-password"}],
    # LINE's webhook names a company by code: public, authenticated by LINE's signature (404 or 401 for anyone else).
    "line:webhook": lambda a: [{"company_code": a.company.code}],
}

# Route prefixes that are not the project's own tenant pages, with the reason.
NOT_TENANT_ROUTES = {
    "admin/": "Django admin: superusers only (checked below: a company user is sent to the login)",
    "api/v1/": "the API: walked through its OpenAPI schema below, with a token and with a session",
    "static/": "static files",
    "media/": "uploaded files are served only through views that check access (DEBUG only)",
}


def kwarg_sets(key: str, kwargs: list[str], company_a: CompanyA, unknown: list[str]) -> list[dict]:
    if key in ROUTE_KWARG_FACTORIES:
        return ROUTE_KWARG_FACTORIES[key](company_a)
    missing = [name for name in kwargs if name not in KWARG_FACTORIES]
    if missing:
        unknown.append(f"{key}: {', '.join(missing)}")
        return []
    return [{name: KWARG_FACTORIES[name](company_a) for name in kwargs}]


def assert_no_leak(label: str, response, company_a: CompanyA) -> None:
    assert response.status_code < 500, f"{label}: {response.status_code}"
    body = content_of(response)
    for secret in (SECRET_CUSTOMER, SECRET_EMAIL, company_a.company.name, "機密"):
        assert secret not in body, f"{label} shows company A's data ({secret!r})"


def audit_count(company) -> int:
    return AuditEvent.objects.for_company(company).count()


def test_every_page_route_answers_404_for_another_company_ids(company_a, other_company):
    # given: company B's administrator, logged in
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(other_company["admin"])
    events_before = audit_count(company_a.company)
    unknown: list[str] = []
    checked = 0
    # when / then
    for route in project_routes():
        if route.route.startswith(tuple(NOT_TENANT_ROUTES)):
            continue
        if not route.kwargs:
            if route.name == "logout":
                continue  # would end the session the walk needs
            assert_no_leak(f"GET /{route.route}", client.get(fill(route.route, {})), company_a)
            continue
        key = route.name or route.route
        if key in NON_TENANT_KWARG_ROUTES:
            for values in NON_TENANT_KWARG_ROUTES[key](company_a):
                url = fill(route.route, values)
                assert_no_leak(f"GET {url}", client.get(url, follow=True), company_a)
            continue
        for values in kwarg_sets(key, route.kwargs, company_a, unknown):
            url = fill(route.route, values)
            statuses = {method: getattr(client, method)(url).status_code for method in ("get", "post")}
            assert set(statuses.values()) <= {404, 405} and 404 in statuses.values(), f"{url} ({key}) answered {statuses}"
            checked += 1
    if unknown:
        pytest.fail(
            "These routes have URL kwargs with no factory for company A's object, so their isolation is not tested:\n  "
            + "\n  ".join(unknown)
            + f"\nAdd the kwarg to KWARG_FACTORIES (or the route to ROUTE_KWARG_FACTORIES) in {THIS_FILE}."
        )
    assert checked >= 1
    assert audit_count(company_a.company) == events_before


def test_the_django_admin_is_closed_to_company_users(company_a, other_company):
    client = Client()
    client.force_login(other_company["admin"])
    response = client.get("/admin/")
    assert (response.status_code, response["Location"].startswith("/admin/login/")) == (302, True)


# ---------------------------------------------------------------------------------------------
# The API, route by route from its OpenAPI schema


@pytest.mark.parametrize("auth", ["token", "session"])
def test_every_api_route_answers_404_for_another_company_ids(company_a, other_company, auth):
    # given: company B's administrator, by personal token or by session
    b_admin = other_company["admin"]
    client = Client()
    headers = {"HTTP_ACCEPT_LANGUAGE": "en", "HTTP_IF_MATCH": "*"}
    if auth == "token":
        _token, clear = do_create_api_token(user=b_admin, name="isolation", acting_user=b_admin)
        headers["HTTP_AUTHORIZATION"] = f"Bearer {clear}"
    else:
        client.force_login(b_admin)
    events_before = audit_count(company_a.company)
    unknown: list[str] = []
    checked = 0
    # when / then
    for path, method, body, content_type in api_operations():
        names = re.findall(r"{(\w+)}", path)
        if not names:
            if method == "get":
                assert_no_leak(f"GET {path}", api_call(client, method, path, body, content_type, headers), company_a)
            continue
        for values in kwarg_sets(f"{method.upper()} {path}", names, company_a, unknown):
            url = path
            for name, value in values.items():
                url = url.replace("{" + name + "}", str(value))
            response = api_call(client, method, url, body, content_type, headers)
            assert (method, url, response.status_code) == (method, url, 404), content_of(response)
            assert response.json()["error"]["code"] == "not_found"
            checked += 1
    if unknown:
        pytest.fail(
            "These API routes have path parameters with no factory for company A's object, so their isolation is not tested:\n  "
            + "\n  ".join(unknown)
            + f"\nAdd the parameter to KWARG_FACTORIES in {THIS_FILE}."
        )
    assert checked >= 20
    assert audit_count(company_a.company) == events_before


def test_every_api_url_pattern_is_in_the_openapi_schema():
    """The API walk above uses the schema; this proves no API URL hides from it (include_in_schema=False)."""
    from estatecrm.config.api import api

    documented = {re.sub(r"{\w+}", "{}", path) for path in api.get_openapi_schema()["paths"]}
    for route in project_routes():
        if not route.route.startswith("api/v1/") or route.route in ("api/v1/", "api/v1/openapi.json", "api/v1/docs"):
            continue
        as_template = "/" + re.sub(r"<(?:\w+:)?\w+>", "{}", route.route)
        assert as_template in documented, f"/{route.route} is not in the OpenAPI schema, so the isolation walk misses it"
