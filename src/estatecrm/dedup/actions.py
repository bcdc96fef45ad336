"""名寄せ writes besides the merge itself (dedup/merge.py): 「別人」 dismissals, shared phones and e-mails,
the company's settings. Pages, the API and commands call these; each checks its rule itself."""

from collections.abc import Collection

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from estatecrm.audit.actions import record_event, snapshot
from estatecrm.core.errors import ApplicationError, NotFound
from estatecrm.crm.choices import DuplicateRule, SharedValueMarking
from estatecrm.crm.duplicates import ID_CHUNK, duplicate_settings, refresh_customers, refresh_flags
from estatecrm.crm.models import (
    Case,
    ContactPoint,
    Customer,
    DuplicateCandidate,
    DuplicateDismissal,
    DuplicateSettings,
    SharedContactValue,
)
from estatecrm.crm.selectors import visible_cases
from estatecrm.dedup import error_codes
from estatecrm.dedup.access import check_can_merge
from estatecrm.normalize import normalize_email, normalize_phone
from estatecrm.tenancy.permissions import require_user
from estatecrm.tenancy.selectors import actor_for

# Below this many customers a number is not "shared" by any reading (a couple share a landline).
MIN_SHARED_THRESHOLD = 2
MAX_SHARED_THRESHOLD = 1000


def ordered_pair(case_a_id: int, case_b_id: int) -> tuple[int, int]:
    """The two case ids in the stored order (`case_a < case_b`); the same case twice is refused."""
    low, high = sorted((int(case_a_id), int(case_b_id)))
    if low == high:
        message = _("Choose two different cases.")
        raise ApplicationError(error_codes.SAME_CASE, message, fields={"case_b_id": [message]})
    return low, high


def lock_pair(acting_user, company_id: int, pair: tuple[int, int]) -> list[Case]:
    """The two live cases locked in pk order. NotFound unless the actor (None: the operator) sees both;
    PermissionDenied naming the cases the actor may not edit (as for a merge: dedup/access.py)."""
    cases = Case.objects.for_company(company_id).filter(deleted_at__isnull=True)
    actor = actor_for(acting_user) if acting_user is not None else None
    if actor is not None:
        cases = visible_cases(actor=actor)
    found = list(cases.filter(pk__in=pair).select_for_update(of=("self",)).order_by("pk"))
    if len(found) != 2:
        raise NotFound()
    if actor is not None:
        check_can_merge(actor, found)
    return found


@transaction.atomic
def do_dismiss_pair(*, acting_user, case_a_id: int, case_b_id: int, company_id: int | None = None) -> DuplicateDismissal:
    """Mark two live cases 「別人」 (not the same person): their candidate rows of every rule go, the cases'
    「!」 flags follow, and no later refresh or scan finds the pair again (crm.duplicates skips dismissed pairs).

    Rule `dedup`; the actor must see both cases (NotFound otherwise, never revealing either) and may edit
    both (PermissionDenied naming the others, as for a merge: dedup/access.py). Atomic,
    idempotent (a dismissed pair answers its dismissal and writes nothing), audited once."""
    require_user(acting_user, "dedup")
    company_id = company_id if acting_user is None else acting_user.company_id
    pair = ordered_pair(case_a_id, case_b_id)
    lock_pair(acting_user, company_id, pair)
    dismissal, created = DuplicateDismissal.objects.for_company(company_id).get_or_create(
        company_id=company_id, case_a_id=pair[0], case_b_id=pair[1],
        defaults={"dismissed_by": acting_user, "dismissed_at": timezone.now()})
    if not created:
        return dismissal
    rules = list(DuplicateCandidate.objects.for_company(company_id).filter(case_a_id=pair[0], case_b_id=pair[1])
                 .order_by("rule").values_list("rule", flat=True))
    DuplicateCandidate.objects.for_company(company_id).filter(case_a_id=pair[0], case_b_id=pair[1]).delete()
    refresh_flags(company_id, pair)
    record_event(company_id=company_id, actor=acting_user, verb="dismiss_duplicate", instance=dismissal,
                 before={"rules": rules}, after=snapshot(dismissal, ["case_a_id", "case_b_id", "dismissed_at"]))
    return dismissal


@transaction.atomic
def do_undismiss_pair(*, acting_user, case_a_id: int, case_b_id: int, company_id: int | None = None) -> None:
    """Take back a 「別人」: the pair is a candidate again wherever a rule finds it (recomputed now for both
    customers). Rule `dedup`, both cases seen and editable by the actor; refused (`not_dismissed`) when the pair is not
    dismissed. Atomic, audited."""
    require_user(acting_user, "dedup")
    company_id = company_id if acting_user is None else acting_user.company_id
    pair = ordered_pair(case_a_id, case_b_id)
    cases = lock_pair(acting_user, company_id, pair)
    dismissal = DuplicateDismissal.objects.for_company(company_id).filter(case_a_id=pair[0], case_b_id=pair[1]).first()
    if dismissal is None:
        raise ApplicationError(error_codes.NOT_DISMISSED, _("These two cases are not marked as different people."))
    before = snapshot(dismissal, ["case_a_id", "case_b_id", "dismissed_at", "dismissed_by_id"])
    record_event(company_id=company_id, actor=acting_user, verb="undismiss_duplicate", instance=dismissal, before=before, after={})
    dismissal.delete()
    refresh_customers(company_id, {case.customer_id for case in cases})


def normalized_contact_value(value: str) -> str:
    """The stored form of a phone (E.164) or e-mail (lower case) as typed; refused when it is neither."""
    value = (value or "").strip()
    result = normalize_email(value) if "@" in value else normalize_phone(value)
    if not result.is_valid or not result.value:
        message = _("Enter a phone number or an e-mail address.")
        raise ApplicationError(error_codes.SHARED_VALUE_INVALID, message, fields={"value": [message]})
    return result.value


def holders_of(company_id: int, values: Collection[str]) -> set[int]:
    """The customers (any state) holding one of these normalized phones or e-mails."""
    values = sorted(set(values))
    found: set[int] = set()
    for start in range(0, len(values), ID_CHUNK):
        found.update(ContactPoint.objects.for_company(company_id).filter(normalized__in=values[start:start + ID_CHUNK])
                     .values_list("customer_id", flat=True).distinct())
    return found


@transaction.atomic
def do_mark_shared_value(*, acting_user, normalized: str, marking: str | None, note: str = "",
                         company_id: int | None = None) -> SharedContactValue | None:
    """An administrator's word on one phone or e-mail (`normalized`: E.164 or the lower-case address, or as
    typed): `shared` (it finds no candidates however few hold it), `personal` (it finds them however many
    do), None (the company's threshold decides again). The candidates of every customer holding it are
    recomputed in the same transaction. Rule `dedup_shared`. Atomic, audited; no change, no write."""
    require_user(acting_user, "dedup_shared")
    company_id = company_id if acting_user is None else acting_user.company_id
    value = normalized_contact_value(normalized)
    if marking is not None and marking not in SharedValueMarking.values:
        message = _("Choose shared or personal.")
        raise ApplicationError(error_codes.SHARED_VALUE_INVALID, message, fields={"marking": [message]})
    note = (note or "").strip()[:200]
    rows = SharedContactValue.objects.for_company(company_id)
    existing = rows.select_for_update().filter(normalized=value).first()
    before = snapshot(existing, ["normalized", "marking", "note"]) if existing else {}
    if marking is None:
        if existing is None:
            return None
        existing.delete()
        result, after = None, {}
    else:
        if existing is not None and (existing.marking, existing.note) == (marking, note):
            return existing
        result, _created = rows.update_or_create(company_id=company_id, normalized=value,
                                                 defaults={"marking": marking, "note": note, "marked_by": acting_user})
        after = snapshot(result, ["normalized", "marking", "note"])
    record_event(company_id=company_id, actor=acting_user, verb="update", object_type="crm.sharedcontactvalue", object_id=value,
                 object_repr=value, before=before, after=after)
    refresh_customers(company_id, holders_of(company_id, [value]))
    return result


def check_settings(enabled_rules: Collection[str], shared_threshold: int, fuzzy_min_score: float) -> list[str]:
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(enabled_rules) - set(DuplicateRule.values))
    if unknown:
        errors["enabled_rules"] = [_("Unknown rule: %(rules)s.") % {"rules": ", ".join(unknown)}]
    if not MIN_SHARED_THRESHOLD <= shared_threshold <= MAX_SHARED_THRESHOLD:
        errors["shared_threshold"] = [_("Enter a number from %(min)d to %(max)d.") % {"min": MIN_SHARED_THRESHOLD, "max": MAX_SHARED_THRESHOLD}]
    if not 0.5 <= fuzzy_min_score <= 1.0:
        errors["fuzzy_min_score"] = [_("Enter a score from 0.5 to 1.")]
    if errors:
        raise ApplicationError(error_codes.SETTINGS_INVALID, _("The settings are not valid."), fields=errors)
    return [rule for rule in DuplicateRule.values if rule in set(enabled_rules)]


def refresh_company(company_id: int) -> None:
    """Recompute every candidate of the company (the rules or the threshold changed), a chunk of customers at a time."""
    last = 0
    while True:
        chunk = list(Customer.objects.for_company(company_id).filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:ID_CHUNK])
        if not chunk:
            return
        refresh_customers(company_id, chunk)
        last = chunk[-1]


@transaction.atomic
def do_update_duplicate_settings(*, acting_user, enabled_rules: Collection[str], shared_threshold: int, fuzzy_min_score: float,
                                 company_id: int | None = None) -> DuplicateSettings:
    """Set which rules find candidates, from how many customers a phone or e-mail is shared, and the lowest
    score of the similarity rules. Rule `dedup_settings` (company administrators). A change recomputes the
    company's candidates in the same transaction (rules turned off lose their rows). Atomic, audited; the
    same settings again write nothing."""
    require_user(acting_user, "dedup_settings")
    company_id = company_id if acting_user is None else acting_user.company_id
    rules = check_settings(enabled_rules, shared_threshold, fuzzy_min_score)
    fields = ["enabled_rules", "shared_threshold", "fuzzy_min_score"]
    current = DuplicateSettings.objects.for_company(company_id).select_for_update().first() or duplicate_settings(company_id)
    before = snapshot(current, fields)
    if (list(current.enabled_rules), current.shared_threshold, current.fuzzy_min_score) == (rules, shared_threshold, fuzzy_min_score):
        return current
    current.enabled_rules, current.shared_threshold, current.fuzzy_min_score = rules, shared_threshold, fuzzy_min_score
    current.save()
    record_event(company_id=company_id, actor=acting_user, verb="update", instance=current, before=before, after=snapshot(current, fields))
    refresh_company(company_id)
    return current
