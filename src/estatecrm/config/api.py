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

api = NinjaAPI(title="estatecrm", version="1", urls_namespace="api-v1", docs_url="/docs", auth=api_auth)


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
    from estatecrm.leads.api import router as leads_router
    from estatecrm.pipeline.api import router as pipeline_router
    from estatecrm.tenancy.api import router as tenancy_router

    api.add_router("/", crm_router)
    api.add_router("/", tenancy_router)
    api.add_router("/", pipeline_router)
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
