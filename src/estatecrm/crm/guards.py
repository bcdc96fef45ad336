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
