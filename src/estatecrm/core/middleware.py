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
