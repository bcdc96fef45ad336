"""The files of a migration run (reconciliation report, migrated ids) and its end-of-run e-mail.

CSV for Excel users: UTF-8 with BOM, CRLF, formulas neutralized.
"""

import csv
import io

from django.conf import settings
from django.core.mail import send_mail
from django.utils import translation
from django.utils.translation import gettext as _

from estatecrm.legacy import bundle as files
from estatecrm.legacy.choices import FailReason, Outcome, SkipReason
from estatecrm.legacy.models import CaseOutcome
from estatecrm.normalize import neutralize_formula
from estatecrm.pipeline.models import Run

CASE_HEADER = ("追客番号", "顧客番号", "行", "結果", "理由コード", "理由", "案件ID", "顧客ID", "要確認")
FILE_HEADER = ("ファイル", "件数(エクスポート情報)", "行数", "件数一致", "使用", "未使用(対象外の追客)", "孤立(追客なし)")
PER_CASE_FILES = (files.CONDITIONS_FILE, files.INTRODUCTIONS_FILE, files.ACTIVITIES_FILE, files.ATTACHMENTS_FILE)


class _Writer:
    def __init__(self, handle):
        self.handle = handle
        self.buffer = io.StringIO()
        self.csv = csv.writer(self.buffer, lineterminator="\r\n")
        handle.write("\ufeff".encode())

    def row(self, values) -> None:
        self.buffer.seek(0)
        self.buffer.truncate()
        self.csv.writerow([neutralize_formula(value) if isinstance(value, str) else value for value in values])
        self.handle.write(self.buffer.getvalue().encode("utf-8"))


def reason_label(code: str) -> str:
    if code.startswith("too_long:"):
        from estatecrm.legacy.converter import LENGTH_LIMITED, limit_of

        _code, file, column = code.split(":", 2)
        if (file, column) in LENGTH_LIMITED:
            return _("%(file)s %(column)s: longer than %(max_length)d characters.") % {
                "file": file, "column": column, "max_length": limit_of(file, column)}
    for choices in (SkipReason, FailReason):
        if code in choices.values:
            return str(choices(code).label)
    return code


def write_reconciliation(run: Run, handle, *, language: str = "ja") -> dict:
    """Every source case with its outcome and reason, then every other file's rows: declared in
    エクスポート情報.csv, present, used, not used and orphaned. Returns the totals (source rows =
    migrated + skipped + failed)."""
    writer = _Writer(handle)
    totals = {"source_cases": 0, Outcome.MIGRATED: 0, Outcome.SKIPPED: 0, Outcome.FAILED: 0}
    with translation.override(language):
        writer.row(CASE_HEADER)
        outcomes = CaseOutcome.objects.for_company(run.company_id).filter(run=run).order_by("row_number", "pk")
        for outcome in outcomes.iterator(chunk_size=2000):
            totals["source_cases"] += 1
            totals[outcome.outcome] += 1
            writer.row((outcome.source_id, outcome.customer_source_id, outcome.row_number, str(Outcome(outcome.outcome).label), outcome.reason,
                        reason_label(outcome.reason) if outcome.reason else "", outcome.case_id or "", outcome.customer_id or "",
                        "1" if outcome.needs_review else ""))
        writer.row(())
        detected = run.detected or {}
        declared = detected.get("declared_counts") or {}
        present = detected.get("row_counts") or {}
        orphans = detected.get("orphans") or {}
        counts = run.counts or {}
        writer.row(FILE_HEADER)
        case_rows = present.get(files.CASES_FILE, totals["source_cases"])
        writer.row((files.CASES_FILE, declared.get(files.CASES_FILE, ""), case_rows, matches(declared.get(files.CASES_FILE), case_rows),
                    totals[Outcome.MIGRATED], totals[Outcome.SKIPPED] + totals[Outcome.FAILED], 0))
        for name in PER_CASE_FILES:
            rows = present.get(name, 0)
            used = int(counts.get(f"rows_used:{name}", 0))
            orphaned = int(orphans.get(name, 0))
            writer.row((name, declared.get(name, ""), rows, matches(declared.get(name), rows), used, rows - used - orphaned, orphaned))
        customers = present.get(files.CUSTOMERS_FILE, 0)
        orphan_customers = int(detected.get("orphan_customers", 0))
        writer.row((files.CUSTOMERS_FILE, declared.get(files.CUSTOMERS_FILE, ""), customers, matches(declared.get(files.CUSTOMERS_FILE), customers),
                    "", "", orphan_customers))
        for name in (files.UNITS_FILE, files.STAFF_FILE, files.STATUSES_FILE):
            rows = present.get(name, 0)
            writer.row((name, declared.get(name, ""), rows, matches(declared.get(name), rows), "", "", ""))
        writer.row(())
        writer.row(("追客件数", "移行", "スキップ", "失敗"))
        writer.row((totals["source_cases"], totals[Outcome.MIGRATED], totals[Outcome.SKIPPED], totals[Outcome.FAILED]))
    return totals


def matches(declared, rows) -> str:
    if declared in (None, ""):
        return ""
    return "OK" if int(declared) == int(rows) else "NG"


def write_migrated_ids(run: Run, handle) -> int:
    """追客番号 -> case id of every case the run migrated, for marking them in the desktop app."""
    writer = _Writer(handle)
    writer.row(("追客番号", "案件ID"))
    count = 0
    outcomes = CaseOutcome.objects.for_company(run.company_id).filter(run=run, outcome=Outcome.MIGRATED).order_by("row_number", "pk")
    for source_id, case_id in outcomes.values_list("source_id", "case_id").iterator(chunk_size=2000):
        writer.row((source_id, case_id))
        count += 1
    return count


def send_run_finished_mail(run_id: int) -> None:
    """E-mail the counts of a finished run to the admin who started it (rule 18)."""
    from estatecrm.legacy.selectors import run_summary

    # Called after commit with only the id; the run names its company.
    run = Run.objects.unscoped().select_related("created_by").filter(pk=run_id).first()
    if run is None or run.created_by is None or not run.created_by.email:
        return
    summary = run_summary(run)
    with translation.override(run.params.get("language") or settings.LANGUAGE_CODE):
        subject = _("Data migration #%(run)d ended: %(status)s") % {"run": run.pk, "status": run.get_status_display()}
        lines = [
            _("The migration of %(file)s has ended.") % {"file": run.source_name},
            "",
            _("Source cases: %(count)d") % {"count": summary["source_cases"]},
            _("Migrated: %(count)d") % {"count": summary["migrated"]},
            _("Skipped: %(count)d") % {"count": sum(summary["skipped"].values())},
        ]
        lines += [f"  {reason_label(code)}: {count}" for code, count in summary["skipped"].items()]
        lines += [
            _("Failed: %(count)d") % {"count": summary["failed"]},
            _("Needing review: %(count)d") % {"count": summary["needs_review"]},
            _("Activities migrated: %(count)d") % {"count": summary["activities_migrated"]},
            _("Attachments migrated: %(count)d") % {"count": summary["attachments_migrated"]},
        ]
        if run.error_message:
            lines += ["", run.error_message]
    send_mail(subject, "\n".join(lines), None, [run.created_by.email])
