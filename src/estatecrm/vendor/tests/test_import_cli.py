"""`estatecrm vendor import`: the exact JSON, refusals (exit 2), options, and what `export cases` shows afterwards."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from estatecrm.core.scope import company_scope
from estatecrm.crm.models import Case
from estatecrm.pipeline.models import Run
from estatecrm.tenancy.models import User
from estatecrm.vendor.tests import loading
from estatecrm.vendor.tests.packages import template_package

pytestmark = pytest.mark.django_db
jp_agents = loading.jp_agents  # a fixture
ENTITY_KEYS = {"source", "loaded", "skipped", "failed", "failed_reasons"}


def vendor_import(path, *extra):
    out, err = io.StringIO(), io.StringIO()
    call_command("vendor", "import", str(path), "--company", "acme", "--profile", "template", "--as", "admin@acme.example.jp", "--json",
                 *extra, stdout=out, stderr=err)
    return json.loads(out.getvalue())


def test_import_json_phase_by_phase_and_all(tmp_path, company, company_admin, jp_agents):
    path = template_package(tmp_path / "esticrm.zip", as_zip=True)
    # when: the active phase
    result = vendor_import(path)
    # then: one object with exactly the documented keys
    assert set(result) == {"run_id", "status", "phase", "entities"}
    assert (result["status"], result["phase"]) == ("completed", "active")
    assert list(result["entities"]) == ["agents", "listings", "seekers", "activities", "links"]
    assert all(set(values) == ENTITY_KEYS for values in result["entities"].values())
    assert result["entities"]["seekers"] == {"source": 2, "loaded": 2, "skipped": {}, "failed": 0, "failed_reasons": {}}
    assert Run.objects.unscoped().get(pk=result["run_id"]).params["phase"] == "active"
    # when: "all" once more: both phases, the active one adding nothing
    again = vendor_import(path, "--phase", "all")
    assert set(again) == {"run_id", "status", "phase", "entities", "runs"}
    assert again["phase"] == "all" and [run["phase"] for run in again["runs"]] == ["active", "archive"]
    assert again["run_id"] == again["runs"][1]["run_id"]
    assert again["entities"]["seekers"] == {"source": 3, "loaded": 1, "skipped": {"already_loaded": 2}, "failed": 0, "failed_reasons": {}}
    assert again["entities"]["activities"]["loaded"] == 3


def test_export_cases_shows_the_vendor_as_source(tmp_path, company, company_admin, jp_agents):
    vendor_import(template_package(tmp_path / "package"), "--phase", "all")
    out = io.StringIO()
    call_command("export", "cases", "--company", "acme", stdout=out)
    cases = {row["source"]["id"]: row for row in map(json.loads, out.getvalue().splitlines())}
    assert set(cases) == {"S-1", "S-2", "S-3"}
    assert {(row["origin"], row["source"]["system"]) for row in cases.values()} == {("vendor_migration", "EstiCRM")}


def test_refusals_exit_with_2_and_one_object(tmp_path, company, company_admin):
    path = template_package(tmp_path / "package")
    with pytest.raises(CommandError) as refused:
        vendor_import(path)
    assert refused.value.returncode == 2
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("vendor", "import", str(path), "--company", "acme", "--profile", "template", "--as", "admin@acme.example.jp", "--json",
                     stdout=out, stderr=io.StringIO())
    refusal = json.loads(out.getvalue())
    assert refusal["refused"] == "agents_unknown" and "sato@demo.example.jp" in refusal["message"]
    err = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("vendor", "import", str(path), "--company", "acme", "--profile", "template", "--as", "admin@acme.example.jp",
                     "--phase", "archive", stdout=io.StringIO(), stderr=err)
    assert refused.value.returncode == 2
    assert len(err.getvalue().strip().splitlines()) == 1
    assert Run.objects.unscoped().count() == 0


def test_agent_map_create_agents_and_dry_run(tmp_path, company, org, company_admin):
    from estatecrm.core import testing

    testing.make_user(company, org["SBY"], email="hanako.sato@acme.example.jp")
    agent_map = tmp_path / "agents.csv"
    agent_map.write_text("source_email,user_email\nSato@demo.example.jp,hanako.sato@acme.example.jp\n", encoding="utf-8")
    path = template_package(tmp_path / "package")
    dry = vendor_import(path, "--agent-map", str(agent_map), "--create-agents", "--dry-run", "--phase", "all")
    assert (dry["status"], dry["would_end_as"], dry["run_id"], dry["entities"]["agents"]["loaded"]) == ("dry_run", "completed", None, 1)
    assert not User.objects.filter(email="suzuki@demo.example.jp").exists()
    result = vendor_import(path, "--agent-map", str(agent_map), "--create-agents")
    assert result["entities"]["agents"] == {"source": 2, "loaded": 1, "skipped": {"agent_exists": 1}, "failed": 0, "failed_reasons": {}}
    with company_scope(company):
        assert Case.objects.get(source_id="S-1").main_assignee.email == "hanako.sato@acme.example.jp"
        assert Case.objects.get(source_id="S-2").main_assignee.is_active is False


def test_a_file_that_is_not_a_package_is_refused(tmp_path, company, company_admin):
    path = tmp_path / "export.zip"
    path.write_text("id,name\n1,x\n", encoding="utf-8")
    out = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("vendor", "import", str(path), "--company", "acme", "--profile", "template", "--as", "admin@acme.example.jp", "--json",
                     stdout=out, stderr=io.StringIO())
    assert refused.value.returncode == 2
    assert json.loads(out.getvalue())["refused"] == "package_unreadable"
    assert Run.objects.unscoped().count() == 0


def test_without_json_a_line_per_entity(tmp_path, company, company_admin, jp_agents):
    out = io.StringIO()
    call_command("vendor", "import", str(template_package(tmp_path / "package")), "--company", "acme", "--profile", "template", "--as",
                 "admin@acme.example.jp", stdout=out, stderr=io.StringIO())
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("(active): completed")
    assert [line.split()[0] for line in lines[1:]] == ["agents", "listings", "seekers", "activities", "links"]
    assert "skipped agent_exists 2" in lines[1]


def test_an_agent_map_that_cannot_be_read_is_refused_and_a_failing_run_is_not_blamed_on_it(tmp_path, company, company_admin, jp_agents,
                                                                                          monkeypatch):
    path = template_package(tmp_path / "package")
    out = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("vendor", "import", str(path), "--company", "acme", "--profile", "template", "--as", "admin@acme.example.jp", "--json",
                     "--agent-map", str(tmp_path / "missing.csv"), stdout=out, stderr=io.StringIO())
    assert refused.value.returncode == 2 and json.loads(out.getvalue())["refused"] == "agent_map_invalid"

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    # an OSError of the run itself (a full disk) is not reported as the agent map's
    monkeypatch.setattr("estatecrm.vendor.actions.run_phases", disk_full)
    (tmp_path / "map.csv").write_text("source_email,user_email\n", encoding="utf-8")
    with pytest.raises(OSError, match="No space left"):
        vendor_import(path, "--agent-map", str(tmp_path / "map.csv"))
