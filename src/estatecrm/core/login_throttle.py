"""Log-in throttling on django-axes: a progressive delay per account, the client from trusted proxies only.

- The client's address is REMOTE_ADDR, unless that peer is one of TRUSTED_PROXIES: then it is the
  right-most X-Forwarded-For entry that is not a trusted proxy (each proxy appends the peer it saw, so
  entries left of the last untrusted one are whatever the client wrote). Without TRUSTED_PROXIES the
  header is ignored. The address is recorded (axes' AccessAttempt) but does not key the delay: behind a
  proxy it would be the proxy's for everyone, and an attacker changes it at will.
- The delay is per account (the e-mail address as typed, trimmed and lower-cased). After
  AXES_FAILURE_LIMIT failures in a row, the next attempt must wait 2, 4, 8, ... seconds after the last
  failure, at most LOGIN_DELAY_MAX_SECONDS. An attempt during the wait is refused without checking the
  password and is not counted (it does not extend the wait). The right password after the wait logs in
  and forgets the failures; failures are also forgotten AXES_COOLOFF_TIME after the last one. So
  strangers can hold an account back by at most LOGIN_DELAY_MAX_SECONDS at a time, never lock it.
"""

import functools
import ipaddress
import math

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_failure_limit
from django.conf import settings
from django.db.models import Max, Sum
from django.shortcuts import render
from django.utils import timezone


@functools.cache
def trusted_networks(proxies: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def parse_address(text: str):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def is_trusted_proxy(address) -> bool:
    return address is not None and any(address in network for network in trusted_networks(tuple(settings.TRUSTED_PROXIES)))


def client_ip_address(request) -> str | None:
    """The address of the client: X-Forwarded-For is believed only as far as it was written by trusted proxies."""
    remote = parse_address(request.META.get("REMOTE_ADDR", ""))
    if not is_trusted_proxy(remote):
        return str(remote) if remote is not None else None
    client = remote
    for entry in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        address = parse_address(entry)
        if address is None:
            break  # not written by a proxy: the last trusted hop is all that is known
        client = address
        if not is_trusted_proxy(address):
            break
    return str(client)


def account_key(request, credentials: dict | None) -> str | None:
    """The account a log-in attempt is for: one key for every spelling of the same e-mail address."""
    username = (credentials or {}).get(settings.AXES_USERNAME_FORM_FIELD)
    if username is None and request is not None:
        username = request.POST.get(settings.AXES_USERNAME_FORM_FIELD)
    return username.strip().lower() if isinstance(username, str) else None


def delay_after(failures: int, limit: int) -> int:
    """Seconds an account waits after its last failure: none below the limit, then 2, 4, 8... up to the cap."""
    if failures < limit:
        return 0
    return min(2 ** min(failures - limit + 1, 32), settings.LOGIN_DELAY_MAX_SECONDS)


class ProgressiveDelayHandler(AxesDatabaseHandler):
    """axes' database handler, locked while the account's progressive delay runs instead of at a count."""

    def wait_seconds(self, request, credentials: dict | None = None) -> int:
        failures, last_failure = 0, None
        for attempts in self.get_user_attempts(request, credentials):
            summary = attempts.aggregate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
            failures = max(failures, summary["failures"] or 0)
            if summary["last"] is not None:
                last_failure = max(last_failure or summary["last"], summary["last"])
        delay = delay_after(failures, get_failure_limit(request, credentials))
        if not delay or last_failure is None:
            return 0
        remaining = (last_failure - timezone.now()).total_seconds() + delay
        return max(0, math.ceil(remaining))

    def is_locked(self, request, credentials: dict | None = None) -> bool:
        return self.wait_seconds(request, credentials) > 0


def lockout_response(request, original_response=None, credentials: dict | None = None):
    """The log-in page's answer while the account waits: how long, in the user's language (429, Retry-After)."""
    from axes.handlers.proxy import AxesProxyHandler

    handler = AxesProxyHandler.get_implementation()
    wait = handler.wait_seconds(request, credentials) if isinstance(handler, ProgressiveDelayHandler) else 0
    wait = max(wait, 1)
    response = render(request, "web/locked_out.html", {"wait_seconds": wait,
                                                        "username": get_client_username(request, credentials) or ""},
                      status=429)
    response["Retry-After"] = str(wait)
    return response
