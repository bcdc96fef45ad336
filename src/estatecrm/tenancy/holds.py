"""Roles that keep a user in place: the default assignee (既定の担当者) of an inquiry source or of the LINE
channel (inquiries/). The intake gives new cases to that user, so while they hold such a role they may be
neither transferred nor retired (staff/), nor deactivated, nor removed from the unit whose inquiries they
receive (tenancy.actions): every refusal names each role and links to its settings.

The app that owns a role registers a provider in its AppConfig.ready (tenancy, a domain app, imports no
feature app). A provider lists the roles of a user and sets a successor through its own action, so the rule
of that action (`inquiry_settings`) holds wherever the successor is set from.
"""

from collections.abc import Callable
from dataclasses import dataclass

from estatecrm.core.errors import NotFound


@dataclass(frozen=True)
class DefaultAssigneeRole:
    """One place where `user` is the default assignee. `key` is stable ("inquiry_source:12", "line_channel")."""

    key: str
    label: str
    settings_url: str
    org_unit_id: int
    org_unit_name: str


@dataclass(frozen=True)
class DefaultAssigneeProvider:
    # (company_id, user ids) -> {user id: that user's roles} (users without a role left out), in a few queries
    roles: Callable[[int, list[int]], dict[int, list[DefaultAssigneeRole]]]
    # (company_id, key, successor, acting_user) -> None; refuses as its action does.
    set_successor: Callable[[int, str, object, object], None]
    # Whether a role key is this provider's.
    owns: Callable[[str], bool]


_providers: list[DefaultAssigneeProvider] = []


def register_default_assignee_provider(provider: DefaultAssigneeProvider) -> None:
    if provider not in _providers:
        _providers.append(provider)


def default_assignee_roles(user) -> list[DefaultAssigneeRole]:
    """Every place where `user` is the default assignee, in the providers' order."""
    if user.company_id is None:
        return []
    return default_assignee_roles_of(user.company_id, [user.pk]).get(user.pk, [])


def default_assignee_roles_of(company_id: int, user_ids) -> dict[int, list[DefaultAssigneeRole]]:
    """The roles of many users at once (a list page): {user id: roles}, users without a role left out."""
    user_ids = list(user_ids)
    result: dict[int, list[DefaultAssigneeRole]] = {}
    for provider in _providers:
        for user_id, roles in provider.roles(company_id, user_ids).items():
            result.setdefault(user_id, []).extend(roles)
    return result


def set_default_assignee_successor(*, company_id: int, key: str, successor, acting_user) -> None:
    """Make `successor` the default assignee of the role `key` (through its owner's action and rule)."""
    for provider in _providers:
        if provider.owns(key):
            provider.set_successor(company_id, key, successor, acting_user)
            return
    raise NotFound()
