"""Checks that feature apps add to CRM actions without the CRM importing them.

A guard is `guard(actor, case, kind) -> str | None`: a translated reason to refuse, or None. The
do-not-call list (leads app) registers one that refuses logging a call for members of its workgroups.
"""

from collections.abc import Callable

ActivityGuard = Callable[[object, object, str], str | None]
_activity_guards: list[ActivityGuard] = []


def register_activity_guard(guard: ActivityGuard) -> ActivityGuard:
    if guard not in _activity_guards:
        _activity_guards.append(guard)
    return guard


def activity_refusal(actor, case, kind: str) -> str | None:
    for guard in _activity_guards:
        reason = guard(actor, case, kind)
        if reason:
            return reason
    return None


# Badges on customers (e.g. 禁止 for a do-not-call lead): `provider(actor, customer_ids)` returns
# {customer_id: [translated label, ...]} for the customers it marks, for this actor.
CustomerBadges = Callable[[object, list], dict]
_customer_badge_providers: list[CustomerBadges] = []


def register_customer_badges(provider: CustomerBadges) -> CustomerBadges:
    if provider not in _customer_badge_providers:
        _customer_badge_providers.append(provider)
    return provider


def customer_badges(actor, customer_ids) -> dict[int, list[str]]:
    """Every registered badge for these customers, as the actor sees them (one query or two per provider)."""
    customer_ids = list(customer_ids)
    badges: dict[int, list[str]] = {}
    for provider in _customer_badge_providers:
        for customer_id, labels in provider(actor, customer_ids).items():
            badges.setdefault(customer_id, []).extend(labels)
    return badges
