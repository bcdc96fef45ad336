"""The REST API at /api/v1/: one NinjaAPI, consistent error bodies, one router per app."""

import functools

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer, SessionAuth

from estatecrm.core.errors import ApplicationError, NotFound
from estatecrm.core.scope import company_scope


class ApiTokenAuth(HttpBearer):
    """`Authorization: Bearer <personal API token>`: the call acts as the token's user."""

    def authenticate(self, request: HttpRequest, token: str):
        from estatecrm.tenancy.tokens import authenticate_api_token

        user = authenticate_api_token(token.strip())
        if user is None:
            return None
        request.user = user
        return user


# Every route needs a personal token or a logged-in session (with the CSRF token on unsafe methods,
# as for any form post); routes opt out with auth=None (health).
api_auth = [ApiTokenAuth(), SessionAuth(csrf=True)]

# The one error body (error_body below), documented once and referenced by every error response.
ERROR_BODY_SCHEMA = {
    "title": "ErrorBody",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            },
        }
    },
}
# Error statuses any operation can answer, whatever its handler does: a NUL anywhere (core/middleware.py)
# or a business rule (ApplicationError) is a 400.
EVERY_OPERATION_ERRORS = {400: "A NUL character in the request, or a business rule refused it (`code` says which)."}
# ... and every authenticated one: no or a bad token (401), a role that may not do this or a session write
# without CSRF token (403), parameters or body that do not validate (422).
AUTHENTICATED_OPERATION_ERRORS = {
    401: "No or a bad token, no session.",
    403: "The caller may not do this (role), or a session write without the CSRF token.",
    422: "The parameters or the body do not validate; `fields` names them.",
# ... an id (in the path, query or body) that does not exist for the caller.
    404: "An id does not exist, is of another company or is outside the caller's visibility.",
}
# Writes to an existing object: it changed since the caller read it, or its state forbids this (a run that
# ended); a PATCH (and a contact's PUT or DELETE) also needs If-Match or updated_at (428).
WRITE_OPERATION_ERRORS = {409: "The object changed since it was read, or its state does not allow this."}
PATCH_OPERATION_ERRORS = {428: "An update without If-Match and without updated_at (where the operation needs them)."}


def with_error_responses(schema: dict) -> dict:
    """Document the shared error statuses of every operation with the one error body (docs/api.md)."""
    schema.setdefault("components", {}).setdefault("schemas", {})["ErrorBody"] = ERROR_BODY_SCHEMA
    error_content = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            statuses = dict(EVERY_OPERATION_ERRORS)
            if operation.get("security"):
                statuses.update(AUTHENTICATED_OPERATION_ERRORS)
            if "{" in path and method != "get":
                statuses.update(WRITE_OPERATION_ERRORS)
            if method in ("patch", "put", "delete"):
                statuses.update(PATCH_OPERATION_ERRORS)
            responses = operation.setdefault("responses", {})
            for status, description in statuses.items():
                responses.setdefault(str(status), {"description": description, "content": error_content})
            for status, response in responses.items():
                if int(status) >= 400 and "content" not in response:
                    response["content"] = error_content
    return schema


class EstateCrmApi(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        return with_error_responses(super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params))


api = EstateCrmApi(title="estatecrm", version="1", urls_namespace="api-v1", docs_url="/docs", auth=api_auth)


def in_company_scope(view_func):
    """Run each handler with the caller's company in scope: token calls skip the session middleware
    that does it for pages, and tenant managers fail closed without it."""

    @functools.wraps(view_func)
    def wrapper(request, *args, **kwargs):
        company_id = getattr(getattr(request, "auth", None), "company_id", None)
        if company_id is None:
            return view_func(request, *args, **kwargs)
        with company_scope(company_id):
            return view_func(request, *args, **kwargs)

    return wrapper


api.add_decorator(in_company_scope)


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


@api.exception_handler(ApplicationError)
def application_error(request: HttpRequest, exc: ApplicationError):
    return api.create_response(request, error_body(exc.code, exc.message, exc.fields), status=exc.status_code)


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError):
    if any(tuple(error.get("loc", ()))[:1] == ("path",) for error in exc.errors):
        # An id in the path that cannot exist (not a number, beyond 64 bits: core/ids.py PathId) is
        # an unknown id like any other.
        return application_error(request, NotFound())
    fields: dict[str, list[str]] = {}
    for error in exc.errors:
        location = [str(part) for part in error.get("loc", ()) if part not in {"body", "payload", "query", "path"}]
        fields.setdefault(".".join(location) or "__all__", []).append(str(error.get("msg", "")))
    return api.create_response(request, error_body("invalid", _("The request is not valid."), fields), status=422)


@api.exception_handler(AuthenticationError)
def authentication_error(request: HttpRequest, exc: AuthenticationError):
    return api.create_response(request, error_body("unauthorized", _("Authentication required.")), status=401)


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError):
    """Ninja's own refusals (CSRF failure, bad JSON...) in the same error body."""
    if exc.status_code == 403 and "CSRF" in str(exc.message):
        body = error_body("csrf_failed", _("The CSRF check failed: reload the page and try again."))
    elif exc.status_code == 403:
        body = error_body("permission_denied", str(exc.message))
    else:
        body = error_body("invalid" if exc.status_code < 500 else "server_error", str(exc.message))
    return api.create_response(request, body, status=exc.status_code)


def add_routers() -> None:
    from estatecrm.crm.api import router as crm_router
    from estatecrm.dedup.api import router as dedup_router
    from estatecrm.inquiries.api import router as inquiries_router
    from estatecrm.inquiries.line_api import router as line_router
    from estatecrm.leads.api import router as leads_router
    from estatecrm.listings.api import router as listings_router
    from estatecrm.pipeline.api import router as pipeline_router
    from estatecrm.staff.api import router as staff_router
    from estatecrm.tenancy.api import router as tenancy_router
    from estatecrm.vendor.api import router as vendor_router

    api.add_router("/", crm_router)
    api.add_router("/", tenancy_router)
    api.add_router("/", pipeline_router)
    api.add_router("/", listings_router)
    api.add_router("/", inquiries_router)
    api.add_router("/", line_router)
    api.add_router("/", dedup_router)
    api.add_router("/", staff_router)
    api.add_router("/", vendor_router)
    # The leads router names session auth itself; mounting it with the API-wide auth lets tokens in too.
    api.add_router("/", leads_router, auth=api_auth)


add_routers()


@api.get("/health", auth=None, tags=["system"])
def health(request: HttpRequest) -> dict:
    """Liveness: the process answers and the database is reachable."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"status": "ok"}
