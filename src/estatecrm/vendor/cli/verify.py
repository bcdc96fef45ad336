"""`estatecrm vendor verify RUN_ID [--out FILE.csv] [--json] [--company CODE]`: the verification report of a
phase run (an operator command: no acting user).

Prints the counts per entity, the money totals and whether every record is accounted for; `--json` prints
one object (reports.Report.as_json: `run_id`, `move_in_id`, `phase`, `status`, `finished`, `currency`,
`accounted`, `entities`, `money`, `sample`, `sample_error`); `--out` writes the CSV of the page (reports.py
documents its columns). `--company CODE` checks that the run is that company's.

Exit codes: 0 the report was made; 2 refused (no such run, a run of another kind or of another company, a
file that cannot be written): one line on stderr (`--json`: one object with `refused` on stdout too).
"""

import json

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from estatecrm.pipeline.models import Run
from estatecrm.tenancy.models import Company
from estatecrm.vendor.choices import RUN_KIND
from estatecrm.vendor.reports import verification, write_csv

EXIT_REFUSED = 2


def add_arguments(parser) -> None:
    parser.add_argument("run_id", metavar="RUN_ID", help="the id of a phase run (`vendor import` prints it)")
    parser.add_argument("--out", metavar="FILE.csv", help="write the report as CSV (UTF-8 with BOM, for Excel)")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    parser.add_argument("--company", metavar="CODE", help="check that the run is of this company")


def _refuse(command, options, code: str, message: str):
    if options.get("json"):
        command.stdout.write(json.dumps({"refused": {"code": code, "message": message}}, ensure_ascii=False))
    raise CommandError(message, returncode=EXIT_REFUSED)


def handle(command, options):
    run_id = str(options["run_id"])
    run = Run.objects.unscoped().filter(pk=int(run_id)).first() if run_id.isdigit() and len(run_id) <= 18 else None
    if run is None or run.kind != RUN_KIND:
        _refuse(command, options, "run_unknown", _("No move-in run with id %(run)s.") % {"run": run_id})
    if options.get("company"):
        company = Company.objects.filter(code=options["company"]).first()
        if company is None:
            _refuse(command, options, "company_unknown", _("Unknown company: %(code)s") % {"code": options["company"]})
        if company.pk != run.company_id:
            _refuse(command, options, "run_unknown", _("No move-in run with id %(run)s.") % {"run": run_id})
    report = verification(run)
    if options.get("out"):
        try:
            with open(options["out"], "wb") as handle:
                write_csv(report, handle)
        except OSError as error:
            _refuse(command, options, "file_unwritable", _("Cannot write %(file)s: %(error)s") % {"file": options["out"],
                                                                                                "error": error.strerror or error})
    if options.get("json"):
        command.stdout.write(json.dumps(report.as_json(), ensure_ascii=False))
        return
    lines = [_("Run %(run)d, phase %(phase)s: %(status)s") % {"run": run.pk, "phase": report.phase_label, "status": run.get_status_display()}]
    for counts in report.entities:
        lines.append(_("%(entity)s: %(source)d in the package, %(loaded)d loaded, %(skipped)d skipped, %(failed)d failed") % {
            "entity": counts.label, "source": counts.source, "loaded": counts.loaded, "skipped": counts.skipped_total,
            "failed": counts.failed_total} + ("" if counts.is_accounted else "  " + _("(not every record is accounted for)")))
        lines += [f"  {label} ({code}): {count}" for code, label, count in counts.skipped_rows + counts.failed_rows]
    for total in report.money:
        lines.append(f"{total.label}: {total.source} → {total.loaded} ({total.difference:+}) {total.currency}")
    if options.get("out"):
        lines.append(_("Report written to %(file)s") % {"file": options["out"]})
    command.stdout.write("\n".join(lines))
