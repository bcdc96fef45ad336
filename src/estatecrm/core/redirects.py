"""Where a page may send the browser back to: only this site, never a `next` that points elsewhere."""

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next_url(request: HttpRequest, fallback: str, *, field: str = "next") -> str:
    """The `next` of the POST (or the query string) when it is a URL of this site, else `fallback`.

    `//evil.example/`, `https://evil.example/`, `/\\evil.example`, `javascript:` and control characters
    are refused by Django's `url_has_allowed_host_and_scheme`; an https request may only go back to https.
    """
    target = request.POST.get(field) or request.GET.get(field) or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return fallback
