"""Who may merge which cases (rule `dedup`): the actor must be allowed to edit every case involved.

- a company admin: every case of the company;
- an org admin: the cases of the administered units (their subtrees);
- anyone else (and an admin, for a case outside their units): the cases they see AND are the main or a
  sub-assignee of. Merging others' cases is an admin action (DESIGN.md).
"""

from collections.abc import Sequence

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from estatecrm.core.errors import PermissionDenied
from estatecrm.crm.models import Case, CaseAssignee
from estatecrm.tenancy.permissions import require
from estatecrm.tenancy.selectors import Actor


def cases_not_mergeable(actor: Actor, cases: Sequence[Case]) -> list[Case]:
    """The cases of `cases` the actor may not merge, in the given order. Two queries at most, whatever the count."""
    if actor.is_company_admin:
        return []
    rest = [case for case in cases if not actor.can_admin_unit(case.owning_org_id)]
    if not rest:
        return []
    ids = [case.pk for case in rest]
    user_id = actor.user.pk
    # Merged and trashed cases too: an undo checks the cases it brings back.
    visible = set(Case.objects.for_company(actor.company_id).filter(actor.case_visibility_q(), pk__in=ids).values_list("pk", flat=True))
    sub_assigned = set(CaseAssignee.objects.for_company(actor.company_id).filter(case_id__in=ids, user_id=user_id)
                       .values_list("case_id", flat=True))
    return [case for case in rest
            if case.pk not in visible or not (case.main_assignee_id == user_id or case.pk in sub_assigned)]


def check_can_merge(actor: Actor, cases: Sequence[Case]) -> None:
    """PermissionDenied (403) unless the actor may merge every one of `cases`; the message names the
    case numbers missing (#12, #15), so the user knows whom to ask."""
    require(actor, "dedup")
    missing = cases_not_mergeable(actor, cases)
    if missing:
        numbers = ", ".join(f"#{case.number}" for case in sorted(missing, key=lambda case: case.number))
        raise PermissionDenied(ngettext(
            "You may not merge case %(numbers)s: only its assignees and the administrators of its unit may.",
            "You may not merge cases %(numbers)s: only their assignees and the administrators of their units may.",
            len(missing)) % {"numbers": numbers})


def check_can_pick(actor: Actor | None) -> None:
    """Picking fields from another case (MergeRequest.picks) is for administrators (None is the operator)."""
    if actor is not None and not actor.is_admin:
        raise PermissionDenied(_("Only administrators may pick fields from another case."))
