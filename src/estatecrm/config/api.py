"""The REST API at /api/v1/: one NinjaAPI, consistent error bodies, one router per app."""

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError

from estatecrm.core.errors import ApplicationError

api = NinjaAPI(title="estatecrm", version="1", urls_namespace="api-v1", docs_url="/docs")


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


@api.exception_handler(ApplicationError)
def application_error(request: HttpRequest, exc: ApplicationError):
    return api.create_response(request, error_body(exc.code, exc.message, exc.fields), status=exc.status_code)


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError):
    fields: dict[str, list[str]] = {}
    for error in exc.errors:
        location = [str(part) for part in error.get("loc", ()) if part not in {"body", "payload", "query", "path"}]
        fields.setdefault(".".join(location) or "__all__", []).append(str(error.get("msg", "")))
    return api.create_response(request, error_body("invalid", _("The request is not valid."), fields), status=422)


@api.exception_handler(AuthenticationError)
def authentication_error(request: HttpRequest, exc: AuthenticationError):
    return api.create_response(request, error_body("unauthorized", _("Authentication required.")), status=401)


def add_routers() -> None:
    from estatecrm.leads.api import router as leads_router

    api.add_router("/", leads_router)


add_routers()


@api.get("/health", auth=None, tags=["system"])
def health(request: HttpRequest) -> dict:
    """Liveness: the process answers and the database is reachable."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"status": "ok"}
