"""Objects of the 名寄せ pages for tests: cases that share a phone (candidates), a 「別人」 pair, a merge."""

from django.utils import timezone

from estatecrm.core import testing
from estatecrm.crm.models import DuplicateDismissal
from estatecrm.dedup.models import Merge


def dedup_objects(company, unit, case, user):
    """A 「別人」 pair (the case and another case of the unit, both the user's) and a merge kept in the case."""
    other = testing.make_case(company, unit, main_assignee=user, customer_name="名寄せ 別人", phones=(("mobile", "090-5555-0001"),),
                              emails=("betsujin@example.jp",))
    low, high = sorted((case, other), key=lambda item: item.pk)
    dismissal = DuplicateDismissal.objects.create(company=company, case_a=low, case_b=high, dismissed_by=user, dismissed_at=timezone.now())
    merge = Merge.objects.create(company=company, survivor=case, mode="link", acting_user=user, created_at=timezone.now())
    return dismissal, merge
