"""Objects of the 名寄せ pages for the route walks: a 「別人」 pair and a merge kept in a case."""

from django.utils import timezone

from estatecrm.core import testing
from estatecrm.core.scope import company_scope
from estatecrm.crm.models import DuplicateDismissal
from estatecrm.dedup.merge import MergeRequest, do_merge_cases


def dedup_objects(company, unit, case, user):
    """A 「別人」 pair (the case and another case of the unit, both the user's) and a merge (link) of a third
    case of the unit into the case, made by the operator."""
    other = testing.make_case(company, unit, main_assignee=user, customer_name="名寄せ 別人", phones=(("mobile", "090-5555-0001"),),
                              emails=("betsujin@example.jp",))
    low, high = sorted((case, other), key=lambda item: item.pk)
    dismissal = DuplicateDismissal.objects.create(company=company, case_a=low, case_b=high, dismissed_by=user, dismissed_at=timezone.now())
    linked = testing.make_case(company, unit, main_assignee=user, customer_name="名寄せ 同一人", phones=(("mobile", "090-5555-0002"),),
                               emails=("douitsu@example.jp",))
    with company_scope(company):
        merge = do_merge_cases(acting_user=None, request=MergeRequest(survivor_id=case.pk, case_ids=[linked.pk], integrate=False))
    return dismissal, merge
