"""Entries that feature apps add to the case list's side menu, without the CRM importing them.

An entry names its group (a heading), label, URL name, who sees it (`visible(actor)`) and, optionally,
its count (`count(actor)`, loaded with the side menu's other counts: keep it one index count). The
inquiry intake registers 「取り込めなかった反響」 (with its count) and 反響一覧 for admins.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import reverse


@dataclass(frozen=True)
class MenuEntry:
    key: str  # unique; the count's key in the side menu's counts
    group: object  # a translated heading
    label: object
    url_name: str
    visible: Callable[[object], bool]
    count: Callable[[object], int] | None = None  # templates read `has_count` (they would call `count` without the actor)

    @property
    def has_count(self) -> bool:
        return self.count is not None


_entries: list[MenuEntry] = []


def register_menu_entry(entry: MenuEntry) -> MenuEntry:
    if all(existing.key != entry.key for existing in _entries):
        _entries.append(entry)
    return entry


def menu_groups(actor) -> list[tuple[object, list[tuple[MenuEntry, str]]]]:
    """[(heading, [(entry, url), ...]), ...] of the entries the actor sees, in registration order."""
    groups: dict[str, tuple[object, list]] = {}
    for entry in _entries:
        if entry.visible(actor):
            groups.setdefault(str(entry.group), (entry.group, []))[1].append((entry, reverse(entry.url_name)))
    return list(groups.values())


def menu_counts(actor) -> dict[str, int]:
    return {entry.key: entry.count(actor) for entry in _entries if entry.count is not None and entry.visible(actor)}
