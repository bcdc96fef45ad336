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
