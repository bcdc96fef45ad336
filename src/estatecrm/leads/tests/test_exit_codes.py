"""Exit codes of the lead commands that run a run (pipeline/commands.py): a failed run is not a success."""

import io
import json
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from estatecrm.pipeline.commands import EXIT_RUN_ABORTED, EXIT_RUN_FAILED
from estatecrm.pipeline.models import Run
from estatecrm.pipeline.readers import SAMPLE_BYTES
from estatecrm.pipeline.testing import worker_environment


def call(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def unreadable_after_the_sample(path):
    """A UTF-8 list whose encoding is detected from its first 256 KiB, with a byte that is not UTF-8 after
    them: the import starts, and its run fails when it reads the whole file."""
    lines = ["会社名,担当者,電話番号"]
    while sum(len(line.encode()) + 2 for line in lines) < SAMPLE_BYTES + 10_000:
        number = len(lines)
        lines.append(f"株式会社読めない{number},担当{number},03-6{number // 10000:03d}-{number % 10000:04d}")
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode() + b"\xff\xfe,x,03-0000-0000\r\n")
    return path


@pytest.mark.django_db
def test_an_import_whose_run_failed_exits_with_3(company, company_admin, project, tmp_path):
    # given
    path = unreadable_after_the_sample(tmp_path / "leads.csv")
    # when
    with pytest.raises(CommandError) as raised:
        call("import-leads", str(path), "--company", "acme", "--project", project.name, "--json")
    # then: the summary was printed, and the command failed with the run's code
    run = Run.objects.unscoped().get()
    assert (run.status, raised.value.returncode) == ("failed", EXIT_RUN_FAILED)
    assert str(raised.value) == f"Run {run.pk} failed: {run.error_message}"


@pytest.mark.django_db
def test_an_import_with_failed_rows_exits_with_0(company, company_admin, project, write_csv):
    out, _err = call("import-leads", str(write_csv([("株式会社ABC", "本社", "03-1234-5678", "", ""), ("", "名無し", "090-5555-6666", "", "")])),
                     "--company", "acme", "--project", project.name, "--json")
    assert (json.loads(out)["status"], json.loads(out)["failed"]) == ("completed_with_failures", 1)


@pytest.mark.django_db
def test_an_aborted_import_exits_with_4(company, company_admin, project, write_csv, monkeypatch):
    # given: an admin aborts the import while its first batch is written
    from estatecrm.leads.jobs import LeadImportJob
    from estatecrm.pipeline.engine import request_abort

    write = LeadImportJob.write

    def write_then_abort(job, batch):
        request_abort(Run.objects.unscoped().get(pk=job.run.pk))
        return write(job, batch)

    monkeypatch.setattr(LeadImportJob, "write", write_then_abort)
    monkeypatch.setattr("estatecrm.leads.jobs.BATCH_ROWS", 1)
    rows = [(f"株式会社{n}", "担当", f"03-1234-{n:04d}", "", "") for n in range(3)]
    # when
    with pytest.raises(CommandError) as raised:
        call("import-leads", str(write_csv(rows)), "--company", "acme", "--project", project.name, "--json")
    # then
    run = Run.objects.unscoped().get()
    assert (run.status, run.rows_done, raised.value.returncode) == ("aborted", 1, EXIT_RUN_ABORTED)


@pytest.mark.django_db
def test_a_do_not_call_import_whose_run_failed_exits_with_3(company, company_admin, tmp_path):
    lines = ["会社名,電話番号"]
    while sum(len(line.encode()) + 2 for line in lines) < SAMPLE_BYTES + 10_000:
        lines.append(f"株式会社読めない{len(lines)},03-6{len(lines) // 10000:03d}-{len(lines) % 10000:04d}")
    path = tmp_path / "dnc.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode() + b"\xff\xfe,03-0000-0000\r\n")
    with pytest.raises(CommandError) as raised:
        call("dnc", "import", str(path), "--company", "acme", "--json")
    assert (Run.objects.unscoped().get().status, raised.value.returncode) == ("failed", EXIT_RUN_FAILED)


@pytest.mark.django_db(transaction=True)
def test_the_import_process_exits_with_the_codes_of_the_documented_table(company, company_admin, project, tmp_path):
    # given: a list that fails while running, one with a failed row, and a missing file
    environment = worker_environment()
    failing = unreadable_after_the_sample(tmp_path / "failing.csv")
    with_failed_row = tmp_path / "rows.csv"
    with_failed_row.write_text("会社名,担当者,電話番号\r\n株式会社ABC,本社,03-1234-5678\r\n,名無し,090-5555-6666\r\n", encoding="cp932")

    def exit_code(path):
        command = [sys.executable, "-m", "estatecrm", "import-leads", str(path), "--company", "acme", "--project", project.name, "--json"]
        return subprocess.run(command, env=environment, capture_output=True, timeout=120).returncode

    # when / then
    assert [exit_code(failing), exit_code(with_failed_row), exit_code(tmp_path / "missing.csv")] == [3, 0, 1]
