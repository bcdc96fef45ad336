"""Who may do what: one rule per action, checked wherever the action is reached.

DESIGN.md's access rules as a table. A page (`permission_view`), an API handler and, for the
admin actions, the `do_*` action itself call `require(actor, "<rule>")`, so a new door to an action
inherits its rule. `config/tests/test_roles.py` walks every page and API route as an agent, an org
admin, an org admin of another unit and a company admin, and compares what each one gets with the
rule its route names here.

Levels:
- `anyone`: no log-in needed (log-in, password reset, language, health);
- `member`: any user of the company; what they reach is narrowed by the selectors (an agent's
  cases by unit membership and visibility; their own runs and tokens);
- `admin`: a company admin or an org admin (`unit_scoped`: an admin of the object's unit, i.e. of
  it or of a unit above it);
- `company_admin`: an admin membership on a top-level unit.

Management commands that work for a user (`import-leads`, `imports`, `dnc`, `legacy-migrate`) act
as `--as EMAIL` (default: the company's first company admin, `tenancy/commands.py`) through the
same actions, so the rules apply to that user. Commands without a user (`tenant apply`,
`purge-trash`, `demo`, `export`) act as the operator (`acting_user=None`), whom `require_user` lets
through: whoever runs them has the server. Tasks take ids of work that a checked door accepted (the
legacy pre-flight task checks its requester again).
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from estatecrm.core.errors import PermissionDenied

ANYONE = "anyone"
MEMBER = "member"
ADMIN = "admin"
COMPANY_ADMIN = "company_admin"


@dataclass(frozen=True)
class Rule:
    level: str
    description: str
    unit_scoped: bool = False


RULES: dict[str, Rule] = {
    "public": Rule(ANYONE, "log in and out, reset a forgotten password, choose the language, the API's health and schema"),
    # Everyone of the company (narrowed by the selectors)
    "cases": Rule(MEMBER, "read, create and edit the cases the actor sees, with their customer, activities, attachments"),
    "masters_read": Rule(MEMBER, "read ranks, statuses, tags, custom fields and projects"),
    "listings": Rule(MEMBER, "read, create and edit the company's listings and their photos; introduce listings to the "
                             "cases the actor sees and record the customer's reaction"),
    "directory": Rule(MEMBER, "read the company's org units and users (to assign cases)"),
    "own_runs": Rule(MEMBER, "read the background runs: an admin every run, others the runs they started"),
    "inquiries_submit": Rule(MEMBER, "send an inquiry to the intake (POST /api/v1/inquiries, an integration's token)"),
    "account": Rule(MEMBER, "the user's own account: password, acting unit, personal API tokens"),
    "dedup": Rule(MEMBER, "名寄せ: read the duplicate candidates of the cases the actor sees; mark a pair 別人; merge or link cases and "
                          "undo a merge, when the actor may edit every case involved (dedup/access.py: an agent the cases they are "
                          "assigned to, an administrator the cases of the administered units)"),
    # Administrators
    "case_trash": Rule(ADMIN, "move a case to the trash and restore it", unit_scoped=True),
    "case_bulk": Rule(ADMIN, "change many cases at once (reassign, tags, status, trash): cases of the administered units"),
    "lead_imports": Rule(ADMIN, "lead imports: detect, dry run, start, read, failed rows, abort, revert, an import "
                                "is its unit's (where its leads go: the starter's primary unit) and its starter's", unit_scoped=True),
    "lead_mappings": Rule(ADMIN, "the saved column mappings of lead imports (company-wide, per project)"),
    "do_not_call": Rule(ADMIN, "read, import, export and change the do-not-call list"),
    "legacy_migration": Rule(ADMIN, "data migration of a legacy bundle into a unit: upload, check, run, abort, revert, reports",
                             unit_scoped=True),
    "listings_manage": Rule(ADMIN, "make a listing 非公開 (not public) or public again; remove a listing's photo"),
    "dedup_shared": Rule(ADMIN, "名寄せ: read the shared phones and e-mails, mark one shared or personal"),
    "run_abort": Rule(ADMIN, "abort a background run (and the rule of the run's own kind)"),
    "inquiry_inbox": Rule(ADMIN, "「取り込めなかった反響」: read the inquiries no source could take, assign them by hand, teach a "
                                 "source a label and read again, dismiss"),
    "staff": Rule(ADMIN, "異動・退職: transfer an agent to another unit, retire an agent, reassign an agent's cases in bulk and undo "
                         "it, read the 担当変更履歴: an administrator of every unit concerned (the agent's, the target's, the cases')",
                  unit_scoped=True),
    "organisation": Rule(ADMIN, "settings: units, users and memberships of the administered subtree", unit_scoped=True),
    # Company administrators
    "masters_edit": Rule(COMPANY_ADMIN, "add, change and delete ranks, sub-statuses, tags, custom fields, projects"),
    "workgroups": Rule(COMPANY_ADMIN, "workgroups"),
    "top_level_units": Rule(COMPANY_ADMIN, "create a unit at the top of the tree"),
    "customers_manage": Rule(COMPANY_ADMIN, "a customer without a case; a customer's trash and restore"),
    "dedup_settings": Rule(COMPANY_ADMIN, "名寄せ settings: which rules find candidates, the shared-number threshold, a full rescan"),
    "vendor_migration": Rule(COMPANY_ADMIN, "move-in from another vendor: check a package, load its phases, abort and revert them, read "
                                            "the verification reports and give the verdict (確認済み or problems)"),
    "listings_feed": Rule(COMPANY_ADMIN, "the listings feed: show its URLs, create, rotate and turn off its key"),
    "inquiry_settings": Rule(COMPANY_ADMIN, "inquiry intake settings: the sources (portals, the website) with their labels and "
                                            "mailboxes, the LINE channel"),
}


def allows(actor, rule_name: str, *, unit_id: int | None = None) -> bool:
    """Whether the actor may do the action of `rule_name` (on an object of unit `unit_id` when the rule is unit scoped)."""
    rule = RULES[rule_name]
    if rule.level in (ANYONE, MEMBER):
        return True
    if rule.level == COMPANY_ADMIN:
        return actor.is_company_admin
    if not actor.is_admin:
        return False
    if rule.unit_scoped and unit_id is not None:
        return actor.can_admin_unit(unit_id)
    return True


def require(actor, rule_name: str, *, unit_id: int | None = None) -> None:
    """Raise PermissionDenied (403) unless `allows`."""
    if not allows(actor, rule_name, unit_id=unit_id):
        raise PermissionDenied(_("You do not have permission to do this."))


def can_place_case(actor, unit_id: int) -> bool:
    """A case may be put (created in, moved to) only in a unit whose cases the actor sees: their units and
    below, an admin's subtrees; a company admin anywhere. Else the case would vanish from its author."""
    reachable = actor.admin_unit_ids | actor.org_visible_unit_ids | actor.assignee_visible_unit_ids
    return actor.is_company_admin or unit_id in reachable


def check_case_unit(actor, unit_id: int) -> None:
    """PermissionDenied (403, on the field `owning_org`) unless `can_place_case`."""
    if not can_place_case(actor, unit_id):
        error = PermissionDenied(_("You cannot put a case in this unit."))
        error.fields = {"owning_org": [error.message]}
        raise error


def require_user(acting_user, rule_name: str, *, unit_id: int | None = None, unit_ids=None) -> None:
    """`require` for an action that takes the acting user: None is the operator (a management command).

    `unit_ids` (a unit-scoped rule over several units, e.g. every membership of a user): each of them
    must be allowed; none at all needs a company admin (nobody's subtree holds it)."""
    if acting_user is None:
        return
    from estatecrm.tenancy.selectors import actor_for

    actor = actor_for(acting_user)
    if unit_ids is None:
        require(actor, rule_name, unit_id=unit_id)
        return
    unit_ids = list(unit_ids)
    if not unit_ids and not actor.is_company_admin:
        raise PermissionDenied(_("You do not have permission to do this."))
    for each in unit_ids:
        require(actor, rule_name, unit_id=each)
