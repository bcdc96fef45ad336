"""View decorators: the page's Actor, and admin-only pages.

Refusals raise the core errors; `core.middleware.ApplicationErrorMiddleware` turns NotFound into a
404 and PermissionDenied into a 403 for every page alike.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from estatecrm.core.errors import PermissionDenied
from estatecrm.tenancy.selectors import actor_for


def actor_view(view):
    """Log-in required; the view gets the request's Actor as its second argument. A user without a
    company (a bare superuser) gets the no-company page."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.user.company_id is None:
            return render(request, "web/no_company.html", status=403)
        return view(request, actor_for(request.user), *args, **kwargs)

    return wrapper


def admin_view(*, company_admin: bool = False):
    """`actor_view` for administrators only (company_admin: company administrators only); others get 403."""

    def decorator(view):
        @actor_view
        @wraps(view)
        def wrapper(request: HttpRequest, actor, *args, **kwargs) -> HttpResponse:
            if not actor.is_admin or (company_admin and not actor.is_company_admin):
                raise PermissionDenied()
            return view(request, actor, *args, **kwargs)

        return wrapper

    return decorator
