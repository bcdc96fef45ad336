"""View decorators: the page's Actor, and pages of one rule of `tenancy/permissions.py`.

Refusals raise the core errors; `core.middleware.ApplicationErrorMiddleware` turns NotFound into a
404 and PermissionDenied into a 403 for every page alike.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from estatecrm.tenancy.permissions import RULES, require
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


def permission_view(rule_name: str):
    """`actor_view` for the users whom the rule `rule_name` (tenancy/permissions.py) allows; others get 403.

    A unit-scoped rule is checked here at its level (administrators); the view checks the object's
    unit when it has found the object (`require(actor, rule, unit_id=...)` or an `access_*(for_write=True)`).
    """
    if rule_name not in RULES:
        raise KeyError(f"unknown permission rule {rule_name!r}: add it to tenancy/permissions.py")

    def decorator(view):
        @actor_view
        @wraps(view)
        def wrapper(request: HttpRequest, actor, *args, **kwargs) -> HttpResponse:
            require(actor, rule_name)
            return view(request, actor, *args, **kwargs)

        wrapper.permission_rule = rule_name
        return wrapper

    return decorator
