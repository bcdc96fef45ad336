"""Puts the logged-in user's company in scope for the whole request."""

from estatecrm.core.scope import company_scope


class CompanyScopeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        company_id = getattr(user, "company_id", None) if user is not None and user.is_authenticated else None
        if company_id is None:
            return self.get_response(request)
        with company_scope(company_id):
            return self.get_response(request)


class ApplicationErrorMiddleware:
    """Pages: NotFound becomes a 404 and PermissionDenied a 403 (the API has its own handlers)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
        from django.http import Http404

        from estatecrm.core.errors import NotFound, PermissionDenied

        if isinstance(exception, NotFound):
            raise Http404(exception.message) from exception
        if isinstance(exception, PermissionDenied):
            raise DjangoPermissionDenied(exception.message) from exception
        return None


NUL = "\x00"
JSON_CONTENT_TYPES = ("application/json", "+json")


def nul_field_name(name: str) -> str:
    return name.replace(NUL, "\\0")


def nul_fields(request) -> list[str]:
    """Where the request carries a NUL character: URL path, query, cookies, headers, form fields, uploaded
    file names, JSON strings. Parse errors are left for the view to answer as before."""
    found: list[str] = []
    if NUL in request.path_info:
        found.append("__path__")
    for name, values in request.GET.lists():
        if NUL in name or any(NUL in value for value in values):
            found.append(nul_field_name(name))
    for name, value in request.COOKIES.items():
        if NUL in name or NUL in value:
            found.append("cookie:" + nul_field_name(name))
    for key, value in request.META.items():
        if key.startswith("HTTP_") and isinstance(value, str) and NUL in value:
            found.append("header:" + key.removeprefix("HTTP_").replace("_", "-").title())
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        found.extend(nul_fields_of_body(request))
    return found


def nul_fields_of_body(request) -> list[str]:
    import json

    from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
    from django.http.multipartparser import MultiPartParserError

    content_type = request.content_type or ""
    found: list[str] = []
    try:
        if content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
            for name, values in request.POST.lists():
                if NUL in name or any(NUL in value for value in values):
                    found.append(nul_field_name(name))
            for name, files in request.FILES.lists():
                if NUL in name or any(NUL in (upload.name or "") for upload in files):
                    found.append(nul_field_name(name))
        elif content_type.endswith(JSON_CONTENT_TYPES):
            body = request.body
            # A JSON string holds NUL only as the escape \u0000 (a raw NUL byte is a NUL too): parse only then.
            if b"\x00" in body:
                found.append("__body__")
            elif b"\\u0000" in body:
                try:
                    document = json.loads(body)
                except ValueError:
                    return found
                found.extend(nul_paths(document, ""))
    except (MultiPartParserError, RequestDataTooBig, SuspiciousOperation, UnicodeDecodeError):
        return found
    return found


def nul_paths(value, path: str) -> list[str]:
    """The JSON paths (`contacts.0.name`) of the strings and keys with NUL in a parsed JSON document."""
    if isinstance(value, str):
        return [path or "__body__"] if NUL in value else []
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            item_path = f"{path}.{key}" if path else str(key)
            if NUL in key:
                found.append(nul_field_name(item_path))
            else:
                found.extend(nul_paths(item, item_path))
        return found
    if isinstance(value, list):
        return [found for index, item in enumerate(value) for found in nul_paths(item, f"{path}.{index}" if path else str(index))]
    return []


class RefuseNulMiddleware:
    """Refuse (400) every request that carries a NUL character (U+0000), before anything reads it.

    PostgreSQL cannot store or even compare a NUL (psycopg raises, a 500), while SQLite stores it and the
    export then breaks its re-import; so the edge refuses it the same way on both databases, for pages and
    API alike: URL path, query parameters, cookies, headers, form fields, uploaded file names and JSON
    strings (also written as the escape \\u0000). Refused, not stripped: a changed value would be lost
    silently. File contents are the readers' concern (pipeline/readers.py).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        fields = nul_fields(request)
        if fields:
            return nul_refused_response(request, fields)
        return self.get_response(request)


def nul_refused_response(request, fields: list[str]):
    from django.http import HttpResponseBadRequest, JsonResponse
    from django.template.loader import render_to_string
    from django.utils import translation
    from django.utils.translation import gettext

    from estatecrm.core.error_codes import NUL_CHARACTER

    # LocaleMiddleware has not run yet: choose the language the way it would.
    with translation.override(translation.get_language_from_request(request)):
        message = gettext("The request contains a NUL character (U+0000), which no text may contain.")
        if request.path_info.startswith("/api/"):
            body = {"error": {"code": NUL_CHARACTER, "message": message, "fields": {name: [message] for name in fields}}}
            return JsonResponse(body, status=400)
        html = render_to_string("core/bad_request.html", {"message": message, "fields": fields})
    return HttpResponseBadRequest(html)
