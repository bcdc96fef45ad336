"""`estatecrm inquiries import-eml --company CODE FILE... [--json]`: files and directories, the JSON
summary with exactly the issue's keys, a second run changes nothing; also as a separate process."""

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from estatecrm.crm.models import Case
from estatecrm.inquiries.choices import Preset
from estatecrm.inquiries.models import Inquiry, InquirySource
from estatecrm.inquiries.tests.test_mail_reading import PORTAL_LABELS
from estatecrm.pipeline.testing import worker_environment

MAILS = Path(__file__).parent / "mails"
ALL_MAILS = {"created": 9, "linked_existing": 0, "duplicates": 1, "unmatched": 1, "failed": 1}


def call(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("inquiries", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def add_sources(company, org, agent):
    InquirySource.objects.create(company=company, code="suumo", name="SUUMO", preset=Preset.SUUMO, org_unit=org["SBY"], default_assignee=agent,
                                 from_contains="jds.suumo.jp", subject_contains="反響", position=1)
    InquirySource.objects.create(company=company, code="website", name="自社HP", preset=Preset.WEBSITE, org_unit=org["SJK"],
                                 from_contains="form@acme.example.jp", position=2)
    InquirySource.objects.create(company=company, code="homes", name="LIFULL HOME'S", org_unit=org["SBY"], default_assignee=agent,
                                 from_contains="portal-homes.example.jp", labels=PORTAL_LABELS, position=3)


@pytest.mark.django_db
def test_import_eml_takes_a_directory_and_prints_one_json_object(company, org, agent):
    # given
    add_sources(company, org, agent)
    # when
    out, _err = call("import-eml", "--company", "acme", str(MAILS), "--json")
    # then
    summary = json.loads(out)
    assert {key: summary[key] for key in ALL_MAILS} == ALL_MAILS and summary["errors"] == []
    assert Inquiry.objects.for_company(company.pk).count() == 11 and Case.objects.for_company(company.pk).count() == 9
    # when: the same files again, one by one
    out, _err = call("import-eml", "--company", "acme", *sorted(str(path) for path in MAILS.glob("*.eml")), "--json")
    # then: every one is a duplicate, nothing new
    assert json.loads(out) == {"created": 0, "linked_existing": 0, "duplicates": 12, "unmatched": 0, "failed": 0, "errors": []}
    assert Inquiry.objects.for_company(company.pk).count() == 11 and Case.objects.for_company(company.pk).count() == 9


@pytest.mark.django_db
def test_import_eml_counts_linked_existing_and_a_missing_file(company, org, agent, tmp_path):
    add_sources(company, org, agent)
    call("import-eml", "--company", "acme", str(MAILS / "suumo_iso2022jp.eml"))
    # given: the same customer inquires again through the website with the same phone... and a file that is not there
    mail = (MAILS / "website_no_message_id.eml").read_bytes().replace(b"090-3333-4444", b"090-1234-5678")
    (tmp_path / "again.eml").write_bytes(mail)
    out, err = call("import-eml", "--company", "acme", str(tmp_path / "again.eml"), str(tmp_path / "missing.eml"))
    assert out.strip() == "created: 0, linked_existing: 1, duplicates: 0, unmatched: 0, failed: 1"
    assert "missing.eml: No such file or directory" in err


@pytest.mark.django_db
def test_import_eml_refuses_when_nothing_could_be_read(company, tmp_path):
    with pytest.raises(CommandError, match="No mail could be read"):
        call("import-eml", "--company", "acme", str(tmp_path / "missing.eml"))
    with pytest.raises(CommandError, match="Unknown company"):
        call("import-eml", "--company", "nope", str(MAILS))


@pytest.mark.django_db
def test_import_eml_of_one_company_leaves_the_other_alone(company, org, agent, other_company):
    add_sources(company, org, agent)
    out, _err = call("import-eml", "--company", "other", str(MAILS / "suumo_iso2022jp.eml"), "--json")
    assert json.loads(out)["unmatched"] == 1
    assert Inquiry.objects.for_company(company.pk).count() == 0
    assert Inquiry.objects.for_company(other_company["company"].pk).count() == 1


@pytest.mark.django_db(transaction=True)
def test_import_eml_as_a_process(company, org, agent, tmp_path):
    # given
    add_sources(company, org, agent)
    folder = tmp_path / "mails"
    shutil.copytree(MAILS, folder)
    # when
    result = subprocess.run([sys.executable, "-m", "estatecrm", "inquiries", "import-eml", "--company", "acme", str(folder), "--json"],
                            env=worker_environment(), capture_output=True, timeout=120)
    # then
    assert result.returncode == 0, result.stderr.decode()
    summary = json.loads(result.stdout.decode().strip().splitlines()[-1])
    assert {key: summary[key] for key in ALL_MAILS} == ALL_MAILS
    assert Case.objects.for_company(company.pk).count() == 9


@pytest.mark.django_db
def test_an_unexpected_error_in_one_mail_leaves_the_others(company, org, agent, monkeypatch):
    # given: taking the HTML mail's inquiry breaks (a bug, a lost connection...)
    # (import-eml takes the three at once, inquiries.batch; the error undoes the batch, and each mail
    # is then taken alone, through intake.take_inquiry)
    add_sources(company, org, agent)
    from estatecrm.inquiries import batch, intake

    activity_text = intake.activity_text

    def breaking(source_name, data):
        if data.inquiry_id == "W-20261206-0046":
            Case.objects.for_company(company.pk).update(other_info="half-written")  # rolled back with the mail's savepoint
            raise RuntimeError("boom")
        return activity_text(source_name, data)

    monkeypatch.setattr(intake, "activity_text", breaking)
    monkeypatch.setattr(batch, "activity_text", breaking)
    names = ["suumo_iso2022jp.eml", "website_html_only.eml", "website_shift_jis.eml"]
    # when
    out, _err = call("import-eml", "--company", "acme", *(str(MAILS / name) for name in names), "--json")
    # then: the two others are cases, the broken one is kept as failed with its bytes
    summary = json.loads(out)
    assert (summary["created"], summary["failed"], summary["errors"]) == (2, 1, [f"{MAILS / 'website_html_only.eml'}: boom"])
    kept = Inquiry.objects.for_company(company.pk).get(status="failed")
    assert bytes(kept.raw) == (MAILS / "website_html_only.eml").read_bytes() and kept.error == "boom"
    assert list(Case.objects.for_company(company.pk).values_list("other_info", flat=True)) == ["", ""]
