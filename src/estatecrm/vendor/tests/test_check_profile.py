"""`estatecrm vendor check-profile PROFILE_OR_NAME PACKAGE [--json]`: the report, and its exit codes."""

import io
import json
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from estatecrm.core import testing
from estatecrm.vendor.tests.packages import HUBSPOT_POLISH, hubspot_package, template_package


def run(*args):
    out = io.StringIO()
    call_command("vendor", "check-profile", *map(str, args), stdout=out, stderr=io.StringIO())
    return out.getvalue()


def run_refused(*args):
    out = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("vendor", "check-profile", *map(str, args), stdout=out, stderr=io.StringIO())
    return refused.value, out.getvalue()


def test_the_human_report_of_a_loadable_package(tmp_path):
    # given
    path = hubspot_package(tmp_path / "hubspot.zip", as_zip=True)
    # when
    report = run("hubspot", path)
    # then
    assert report.splitlines() == [
        "profile: hubspot", "vendor: HubSpot", "region: JP", "currency: JPY", "loadable: yes", "files:",
        "  contacts.csv -> seekers", "  deals.csv -> activities", "  notes.csv -> activities", "  owners.csv -> agents",
        "records:", "  agents: 2", "  listings: 0", "  seekers: 3", "  activities: 3", "  links: 0",
        "unknown values (kept as extra information):", "  contacts.csv: Contact owner: 田中 次郎 (1)",
        "problems:", "  seekers:phones:invalid_phone: 1",
    ]


def test_the_json_report_of_a_loadable_package(tmp_path):
    # given
    path = template_package(tmp_path / "package")
    (path / "photos.csv").write_text("id\n1\n", encoding="utf-8")
    # when
    report = json.loads(run("template", path, "--json"))
    # then
    assert report == {
        "files": {"activities.csv": "activities", "agents.csv": "agents", "links.csv": "links", "listings.csv": "listings",
                  "manifest.json": "manifest", "seekers.csv": "seekers"},
        "unknown_files": ["photos.csv"], "missing_files": [], "unknown_columns": {}, "missing_columns": {}, "unknown_values": {},
        "problems": {}, "counts": {"agents": 2, "listings": 3, "seekers": 3, "activities": 3, "links": 3}, "loadable": True,
        "profile": "template", "vendor": "EstiCRM", "region": "JP", "currency": "JPY", "refused": None,
    }


def test_missing_files_and_columns_print_the_report_and_exit_2(tmp_path):
    # given
    path = hubspot_package(tmp_path / "hubspot", {"owners.csv": HUBSPOT_POLISH["owners.csv"]})
    (path / "owners.csv").write_text("Email,First Name\nagnieszka.wojcik@biuro.example.pl,Agnieszka\n", encoding="utf-8")
    # when
    refused, out = run_refused("hubspot", path, "--json")
    # then
    assert refused.returncode == 2
    assert str(refused) == "package_incomplete: missing contacts.csv | contacts.xlsx, owners.csv: Last Name"
    report = json.loads(out)
    assert (report["refused"], report["loadable"], report["missing_files"], report["missing_columns"]) == (
        "package_incomplete", False, ["contacts.csv | contacts.xlsx"], {"owners.csv": ["Last Name"]})
    # and the human report says the same
    refused, out = run_refused("hubspot", path)
    assert refused.returncode == 2
    assert "loadable: no" in out.splitlines() and "  owners.csv: Last Name" in out.splitlines()


def test_a_package_of_another_vendor_lists_each_missing_file_once(tmp_path):
    # given
    path = template_package(tmp_path / "package")
    # when
    refused, out = run_refused("hubspot", path, "--json")
    # then
    report = json.loads(out)
    assert report["missing_files"] == ["owners.csv | owners.xlsx", "contacts.csv | contacts.xlsx"]
    assert report["unknown_files"] == ["activities.csv", "agents.csv", "links.csv", "listings.csv", "manifest.json", "seekers.csv"]
    assert str(refused) == "package_incomplete: missing owners.csv | owners.xlsx, contacts.csv | contacts.xlsx"


@pytest.mark.parametrize(("profile", "package", "code", "message"), [
    ("pipedrive", "package", "profile_unknown", "There is no built-in profile named “pipedrive” (template, hubspot, salesforce) and no such file."),
    ("bad.yaml", "package", "profile_invalid", "Profile “bad” is not valid at entities.agents.key: is required."),
    ("template", "missing.zip", "package_unreadable", "missing.zip: there is no such file or folder."),
    ("template", "broken.zip", "package_unreadable", "broken.zip: not a ZIP file or a folder."),
])
def test_refusals_print_one_line_and_exit_2(tmp_path, monkeypatch, profile, package, code, message):
    # given
    monkeypatch.chdir(tmp_path)
    template_package(tmp_path / "package")
    (tmp_path / "bad.yaml").write_text("entities: {agents: {file: agents.csv}}\n", encoding="utf-8")
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 broken")
    # when
    refused, out = run_refused(profile, package)
    refused_json, out_json = run_refused(profile, package, "--json")
    # then
    assert (refused.returncode, str(refused), out) == (2, message, "")
    assert json.loads(out_json) == {"refused": code, "message": message}
    assert refused_json.returncode == 2


def test_the_command_as_an_operator_runs_it(tmp_path):
    # given
    path = template_package(tmp_path / "package.zip", as_zip=True)
    environment = testing.process_environment(LANGUAGE_CODE="en")
    # when
    done = subprocess.run([sys.executable, "-m", "estatecrm", "vendor", "check-profile", "template", str(path), "--json"],
                          env=environment, capture_output=True, text=True, timeout=120)
    # then
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["counts"] == {"agents": 2, "listings": 3, "seekers": 3, "activities": 3, "links": 3}
