"""名寄せ writes besides merging (dedup/merge.py): 「別人」 and its undo, shared-value markings, the company's settings.

Every action owns its transaction, checks its rule (`require_user`), locks what it changes, writes one
AuditEvent and leaves the candidates (crm.duplicates) current before it commits.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from estatecrm.audit.actions import record_event
from estatecrm.core.errors import ApplicationError, NotFound
from estatecrm.core.transactions import enqueue_on_commit
from estatecrm.crm import duplicates
from estatecrm.crm.choices import DuplicateRule, SharedValueMarking
from estatecrm.crm.models import (
    Case,
    DuplicateCandidate,
    DuplicateDismissal,
    DuplicateSettings,
    SharedContactValue,
)
from estatecrm.crm.selectors import visible_cases
from estatecrm.dedup import error_codes
from estatecrm.normalize import normalize_email, normalize_phone
from estatecrm.tenancy.permissions import require_user
from estatecrm.tenancy.selectors import actor_for

MIN_SHARED_THRESHOLD = 2
MAX_SHARED_THRESHOLD = 1000
MIN_FUZZY_SCORE = 0.5


def _lock_pair(company_id: int, acting_user, case_x: int, case_y: int) -> tuple[Case, Case]:
    """The two live cases, locked in pk order; NotFound when the acting user does not see both."""
    ids = sorted({int(case_x), int(case_y)})
    if len(ids) != 2:
        raise NotFound()
    cases = Case.objects.for_company(company_id)
    if acting_user is not None:
        cases = visible_cases(actor=actor_for(acting_user))
    locked = list(cases.filter(pk__in=ids, deleted_at__isnull=True).select_for_update(of=("self",)).order_by("pk"))
    if len(locked) != 2:
        raise NotFound()
    return locked[0], locked[1]


def _check_can_edit(acting_user, cases: list[Case]) -> None:
    """The merge rule: the actor may edit every case (PermissionDenied naming the cases missing)."""
    if acting_user is None:
        return
    from estatecrm.dedup.access import check_can_merge

    check_can_merge(actor_for(acting_user), cases)


@transaction.atomic(durable=True)
def do_dismiss_pair(*, company_id: int, acting_user, case_x: int, case_y: int) -> DuplicateDismissal:
    """「別人」: the two cases are not the same person. The pair loses its candidate rows (every rule) and never
    gets one again; the cases' 「!」 flags follow. Needs rule `dedup` and the right to edit both cases.
    Idempotent (a dismissed pair stays as it was); audited."""
    require_user(acting_user, "dedup")
    case_a, case_b = _lock_pair(company_id, acting_user, case_x, case_y)
    _check_can_edit(acting_user, [case_a, case_b])
    dismissal, created = DuplicateDismissal.objects.get_or_create(
        company_id=company_id, case_a=case_a, case_b=case_b,
        defaults={"dismissed_by": acting_user if getattr(acting_user, "pk", None) else None, "dismissed_at": timezone.now()})
    if not created:
        return dismissal
    rules = list(DuplicateCandidate.objects.for_company(company_id).filter(case_a=case_a, case_b=case_b).values_list("rule", flat=True))
    DuplicateCandidate.objects.for_company(company_id).filter(case_a=case_a, case_b=case_b).delete()
    duplicates.refresh_flags(company_id, [case_a.pk, case_b.pk])
    record_event(company_id=company_id, actor=acting_user, verb="dismiss_duplicate", instance=dismissal,
                 object_repr=f"#{case_a.number} #{case_b.number}",
                 after={"case_a": case_a.pk, "case_b": case_b.pk, "rules": sorted(rules)})
    return dismissal


@transaction.atomic(durable=True)
def do_undo_dismissal(*, company_id: int, acting_user, dismissal_id: int) -> tuple[int, int]:
    """Take a 「別人」 back: the pair is a candidate again wherever a rule finds it (recomputed for both
    customers). Same rights as dismissing. Audited. Returns the pair's case ids."""
    require_user(acting_user, "dedup")
    dismissal = DuplicateDismissal.objects.for_company(company_id).filter(pk=dismissal_id).first()
    if dismissal is None:
        raise NotFound()
    case_a, case_b = _lock_pair(company_id, acting_user, dismissal.case_a_id, dismissal.case_b_id)
    _check_can_edit(acting_user, [case_a, case_b])
    DuplicateDismissal.objects.for_company(company_id).filter(pk=dismissal.pk).delete()
    duplicates.refresh_customers(company_id, {case_a.customer_id, case_b.customer_id})
    record_event(company_id=company_id, actor=acting_user, verb="undo_dismiss_duplicate", object_type="crm.duplicatedismissal",
                 object_id=dismissal_id, object_repr=f"#{case_a.number} #{case_b.number}",
                 before={"case_a": case_a.pk, "case_b": case_b.pk})
    return case_a.pk, case_b.pk


def normalized_value(value: str) -> str:
    """A typed phone or e-mail as stored in ContactPoint.normalized (E.164 / lower-case address); refused otherwise."""
    value = (value or "").strip()
    result = normalize_email(value) if "@" in value else normalize_phone(value)
    if result is None or not result.is_valid:
        raise ApplicationError(error_codes.INVALID_VALUE, _("Enter a phone number or an e-mail address."),
                               fields={"value": [_("Enter a phone number or an e-mail address.")]})
    return result.value


@transaction.atomic(durable=True)
def do_mark_shared_value(*, company_id: int, acting_user, value: str, marking: str, note: str = "") -> SharedContactValue | None:
    """Mark a phone or e-mail shared (it finds no candidates) or personal (it finds them however many hold it);
    `marking` "" takes the marking away (the threshold decides again). The candidates of every customer
    holding it are recomputed. Rule `dedup_shared`. Returns the marking row (None once taken away); audited;
    nothing written when nothing changes."""
    require_user(acting_user, "dedup_shared")
    if marking not in ("", *SharedValueMarking.values):
        raise ApplicationError(error_codes.INVALID_VALUE, _("Choose shared or personal."))
    normalized = normalized_value(value)
    existing = SharedContactValue.objects.for_company(company_id).select_for_update().filter(normalized=normalized).first()
    before = {"marking": existing.marking, "note": existing.note} if existing else {"marking": ""}
    if marking == "":
        if existing is None:
            return None
        existing.delete()
        row = None
    else:
        if existing is not None and existing.marking == marking and existing.note == note:
            return existing
        row, _created = SharedContactValue.objects.update_or_create(
            company_id=company_id, normalized=normalized,
            defaults={"marking": marking, "note": note, "marked_by": acting_user if getattr(acting_user, "pk", None) else None})
    duplicates.refresh_values(company_id, [normalized])
    record_event(company_id=company_id, actor=acting_user, verb="mark_shared_value", object_type="crm.sharedcontactvalue",
                 object_id=normalized, object_repr=normalized, before=before,
                 after={"marking": marking, "note": note} if marking else {"marking": ""})
    return row


@dataclass(frozen=True)
class SettingsChange:
    enabled_rules: list[str]
    shared_threshold: int
    fuzzy_min_score: float


@transaction.atomic(durable=True)
def do_update_duplicate_settings(*, company_id: int, acting_user, change: SettingsChange) -> DuplicateSettings:
    """Save the company's 名寄せ settings (rule `dedup_settings`); when they change, a full scan of the company
    with the new settings is enqueued after commit (dedup.tasks.scan_company_task). Audited; nothing written
    when nothing changes."""
    require_user(acting_user, "dedup_settings")
    rules = [rule for rule in DuplicateRule.values if rule in set(change.enabled_rules)]
    if not MIN_SHARED_THRESHOLD <= change.shared_threshold <= MAX_SHARED_THRESHOLD:
        raise ApplicationError(error_codes.INVALID_VALUE, _("The shared threshold must be between %(low)d and %(high)d.")
                               % {"low": MIN_SHARED_THRESHOLD, "high": MAX_SHARED_THRESHOLD},
                               fields={"shared_threshold": [_("The shared threshold must be between %(low)d and %(high)d.")
                                                            % {"low": MIN_SHARED_THRESHOLD, "high": MAX_SHARED_THRESHOLD}]})
    if not MIN_FUZZY_SCORE <= change.fuzzy_min_score <= 1:
        message = _("The lowest score must be between %(low)s and 1.") % {"low": MIN_FUZZY_SCORE}
        raise ApplicationError(error_codes.INVALID_VALUE, message, fields={"fuzzy_min_score": [message]})
    current = DuplicateSettings.objects.for_company(company_id).select_for_update().first()
    if current is None:
        current = DuplicateSettings(company_id=company_id)
        before = None
    else:
        before = {"enabled_rules": current.enabled_rules, "shared_threshold": current.shared_threshold,
                  "fuzzy_min_score": current.fuzzy_min_score}
    after = {"enabled_rules": rules, "shared_threshold": change.shared_threshold, "fuzzy_min_score": change.fuzzy_min_score}
    if before == after:
        return current
    if before is None and after == {"enabled_rules": current.enabled_rules, "shared_threshold": current.shared_threshold,
                                    "fuzzy_min_score": current.fuzzy_min_score}:
        return current
    current.enabled_rules = rules
    current.shared_threshold = change.shared_threshold
    current.fuzzy_min_score = change.fuzzy_min_score
    current.save()
    record_event(company_id=company_id, actor=acting_user, verb="update", instance=current, object_repr="名寄せ settings",
                 before=before, after=after)
    _rescan(company_id)
    return current


def _rescan(company_id: int) -> None:
    """Every candidate of the company under the new settings: the scan task, after commit (set work in the database)."""
    from estatecrm.dedup.tasks import scan_company_task

    enqueue_on_commit(scan_company_task, company_id, "all")
