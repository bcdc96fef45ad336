"""Reverting a migration run as a background run of its own (pipeline/reverts.py)."""

from collections import Counter

from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy

from estatecrm.audit.actions import record_event
from estatecrm.crm.duplicates import refresh_customers as refresh_duplicates
from estatecrm.crm.models import Case, Customer
from estatecrm.legacy.choices import CUSTOMER_SOURCE_SYSTEM, RUN_KIND, SOURCE_SYSTEM, Outcome
from estatecrm.legacy.models import CaseOutcome
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.engine import Batch, register_job
from estatecrm.pipeline.models import LedgerEntry, Run
from estatecrm.pipeline.reverts import REVERT_BATCH, RevertJob, revert_kind

MIGRATED = Outcome.MIGRATED.value


@register_job
class LegacyMigrationRevertJob(RevertJob):
    """Undoes a migration run (`params["run_id"]`), reading its outcomes (one per source case, by line
    of 追客.csv) a batch per transaction: the batch's migrated cases go to the trash, their ledger entries
    go (so the cases can be migrated again), and so do the customers the run created that no case in use
    needs any more, with their ledger entries. Every row is stamped with the revert's time
    (`params["at"]`). The checkpoint is the last line undone: a revert resumed after a crash goes on after
    it, with the counts committed with each batch. When it completes, what is left of the run's ledger
    is settled and the run is marked reverted, in the same transaction."""

    kind = revert_kind(RUN_KIND)
    label = gettext_lazy("Revert of a data migration")

    def check_revertible(self, *, force: bool) -> None:
        from estatecrm.legacy.actions import check_legacy_migration_revertible

        check_legacy_migration_revertible(self.target, force=force)

    def rows_to_undo(self) -> int:
        return CaseOutcome.objects.for_company(self.company_id).filter(run=self.target).count()

    def batches(self, after_row: int):
        outcomes = CaseOutcome.objects.for_company(self.company_id).filter(run=self.target).order_by("row_number")
        after = after_row
        while True:
            rows = list(outcomes.filter(row_number__gt=after).values_list("row_number", "source_id", "customer_source_id", "outcome",
                                                                          "case_id")[:REVERT_BATCH])
            if not rows:
                return
            after = rows[-1][0]
            yield Batch(rows=rows, last_row=after, source_rows=len(rows))

    def write(self, batch: Batch) -> Counter:
        company_id, target = self.company_id, self.target
        counts: Counter = Counter(cases_trashed=0, customers_trashed=0)
        migrated = [(case_id, customer_key) for _line, _source_id, customer_key, outcome, case_id in batch.rows if outcome == MIGRATED and case_id]
        if migrated:
            counts["cases_trashed"] = Case.objects.for_company(company_id).filter(
                pk__in=[case_id for case_id, _key in migrated], deleted_at__isnull=True).update(deleted_at=self.at)
        # The ledger is found by its unique (company, source system, source key), never by scanning the run's entries.
        LedgerEntry.objects.for_company(company_id).filter(
            source_system=SOURCE_SYSTEM, source_key__in=[source_id for _line, source_id, *_rest in batch.rows], run=target).delete()
        created = dict(LedgerEntry.objects.for_company(company_id).filter(
            source_system=CUSTOMER_SOURCE_SYSTEM, source_key__in={key for _case, key in migrated if key}, run=target,
        ).values_list("target_id", "pk"))
        counts["customers_trashed"] = self.trash_unused_customers(created)
        # The batch's cases (and the customers that went with them) leave the 名寄せ candidates: one refresh.
        refresh_duplicates(company_id, set(Case.objects.for_company(company_id).filter(
            pk__in=[case_id for case_id, _key in migrated]).values_list("customer_id", flat=True)) | set(created))
        return counts

    def trash_unused_customers(self, created: dict[int, int]) -> int:
        """Of the customers this run created (id -> ledger entry), trash those no case in use needs any
        more and remove their ledger entries; those still needed keep theirs. Returns how many went."""
        if not created:
            return 0
        still_used = set(Case.objects.for_company(self.company_id).filter(customer_id__in=list(created), deleted_at__isnull=True)
                         .values_list("customer_id", flat=True))
        trashed = [customer_id for customer_id in created if customer_id not in still_used]
        count = Customer.objects.for_company(self.company_id).filter(pk__in=trashed, deleted_at__isnull=True).update(deleted_at=self.at)
        LedgerEntry.objects.for_company(self.company_id).filter(pk__in=[created[customer_id] for customer_id in trashed]).delete()
        return count

    def before_finish(self, status: str, counts: Counter) -> None:
        counts.setdefault("cases_trashed", 0)
        counts.setdefault("customers_trashed", 0)
        if status != RunStatus.COMPLETED:
            return
        company_id, target = self.company_id, self.target
        # What no outcome led to (none, unless a case moved to another customer since): as the batches would.
        LedgerEntry.objects.for_company(company_id).filter(run=target, source_system=SOURCE_SYSTEM).delete()
        in_use = Case.objects.for_company(company_id).filter(customer_id=OuterRef("target_id"), deleted_at__isnull=True)
        left = dict(LedgerEntry.objects.for_company(company_id).filter(run=target, source_system=CUSTOMER_SOURCE_SYSTEM)
                    .exclude(Exists(in_use)).values_list("target_id", "pk"))
        counts["customers_trashed"] += self.trash_unused_customers(left)
        refresh_duplicates(company_id, set(left))
        user = self.run.created_by
        Run.objects.for_company(company_id).filter(pk=target.pk).update(status=RunStatus.REVERTED, reverted_at=self.at, reverted_by=user)
        record_event(company_id=company_id, actor=user, verb="revert", instance=target, after=dict(counts), run_id=target.pk)
