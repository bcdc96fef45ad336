"""Sections of the tenant file that feature apps add without the CRM importing them.

A feature app (e.g. inquiries: `inquiry_sources`, `line`) registers a `TenantSection` in its
AppConfig.ready(). The tenant file then accepts the section's top-level key; its value is
- parsed by `parse(validator, value, path, context)`: returns the parsed value (anything frozen) and
  reports every problem through `validator.error(path, message)` and the validator's helpers
  (`mapping`, `items`, `text`, `choice`, `email`, `unique`), so paths and messages match the rest;
- checked against the database by `check(parsed, spec, company_id)`: a list of `SpecError`
  (`company_id` None when the company does not exist yet);
- applied by `apply(parsed, context)` inside `do_apply_tenant_spec`'s transaction, after every
  built-in kind, counting with `context.count(kind, created=..., changed=...)` for its `kinds`.
  It must be idempotent (an unchanged file writes nothing and counts nothing) and refuse with
  ApplicationError whose `fields` keys are paths of the file.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class FileContext:
    """What the rest of the file declares, for a section's references: unit codes and user e-mails (normalized)."""

    unit_codes: frozenset[str]
    user_emails: frozenset[str]


@dataclass
class ApplyContext:
    """What a section's `apply` gets: the company, the units and users as of this apply (by code and by
    e-mail, those of the file), the acting user, whether it is a dry run, and the counter."""

    company: object
    units: dict
    users: dict
    acting_user: object
    count: Callable[..., None]
    dry_run: bool = False


@dataclass(frozen=True)
class TenantSection:
    key: str
    kinds: tuple[str, ...]
    parse: Callable
    check: Callable
    apply: Callable


_sections: dict[str, TenantSection] = {}


def register_tenant_section(section: TenantSection) -> TenantSection:
    _sections[section.key] = section
    return section


def tenant_sections() -> tuple[TenantSection, ...]:
    """The registered sections, in registration order."""
    return tuple(_sections.values())


def section_kinds() -> tuple[str, ...]:
    return tuple(kind for section in _sections.values() for kind in section.kinds)
