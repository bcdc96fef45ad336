"""`estatecrm vendor verify RUN_ID [--out FILE.csv] [--json] [--company CODE]`."""

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command

from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.models import Run
from estatecrm.vendor.tests.verify_factories import make_loaded_move_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(company, company_admin, tmp_path):
    return make_loaded_move_in(company, company_admin, tmp_path).active_run


def verify(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("vendor", "verify", *[str(arg) for arg in args], stdout=out, stderr=err)
    return out.getvalue()


def test_json_prints_counts_money_and_sample(run):
    report = json.loads(verify(run.pk, "--json"))
    assert report["run_id"] == run.pk and report["phase"] == "active" and report["accounted"] is True
    assert report["entities"]["listings"] == {"source": 2, "loaded": 1, "skipped": {}, "failed": {"invalid_value": 1}, "skipped_total": 0,
                                              "failed_total": 1, "accounted": True}
    assert {"entity": "listings", "field": "amount", "currency": "JPY", "source": "58098000", "loaded": "98000",
            "difference": "-58000000"} in report["money"]
    seeker = next(item for item in report["sample"]["seekers"] if item["source_id"] == "S-2")
    assert seeker["source"]["budget_max"] == "60000000" and seeker["target"]["Customer"] == "高橋 美咲"


def test_out_writes_the_csv_and_text_says_so(run, tmp_path):
    path = tmp_path / "report.csv"
    text = verify(run.pk, "--out", path, "--company", "acme")
    assert "Listings: 2 in the package, 1 loaded, 0 skipped, 1 failed" in text and str(path) in text
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))
    assert ["件数", "seekers", "2", "2", "0", "0", "OK", "", ""] in rows


@pytest.mark.parametrize("which", ["unknown", "other_kind", "other_company"])
def test_an_unknown_run_exits_with_2(run, company, other_company, which):
    if which == "unknown":
        args = [run.pk + 1000, "--json"]
    elif which == "other_kind":
        lead = Run.objects.create(company=company, kind="lead_import", status=RunStatus.COMPLETED, token="lead")
        args = [lead.pk, "--json"]
    else:
        args = [run.pk, "--company", "other", "--json"]
    out = io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("vendor", "verify", *[str(arg) for arg in args], stdout=out)
    assert raised.value.returncode == 2
    assert json.loads(out.getvalue())["refused"]["code"] == "run_unknown"


def test_a_file_that_cannot_be_written_exits_with_2(run, tmp_path):
    with pytest.raises(CommandError) as raised:
        verify(run.pk, "--out", tmp_path / "missing" / "report.csv")
    assert raised.value.returncode == 2 and "Cannot write" in str(raised.value)
