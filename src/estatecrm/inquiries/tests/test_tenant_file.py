"""The tenant file's `inquiry_sources` and `line` (registered by the inquiries app with crm/tenant_sections.py):
every error with its path, apply, a second apply that changes nothing, the dry run, the command."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from estatecrm.audit.models import AuditEvent
from estatecrm.core.errors import ApplicationError
from estatecrm.crm.tenant_file import parse_tenant_file
from estatecrm.crm.tenant_setup import all_kinds, do_apply_tenant_spec
from estatecrm.inquiries.models import InquirySource, LineChannel
from estatecrm.tenancy.models import Company

pytestmark = pytest.mark.django_db

FILE = """
company: {code: intake, name: 反響不動産株式会社}
org_units:
  - {code: HQ, name: 本社}
  - {code: SBY, name: 渋谷店, parent: HQ}
users:
  - {email: Admin@Intake.example.jp, name: 管理 太郎, org: HQ, role: admin}
  - {email: agent@intake.example.jp, name: 本社 一郎, org: HQ}
inquiry_sources:
  - code: suumo
    name: SUUMO
    preset: suumo
    enabled: true
    org: HQ
    default_assignee: agent@example.jp
    mail:
      from_contains: jds.suumo.jp
      subject_contains: 反響
      labels: {"お名前": customer_name, "ご質問": message}
  - code: homes
    name: LIFULL HOME'S
    org: SBY
    default_assignee: agent@intake.example.jp
    mail:
      from_contains: homes.co.jp
      labels: {"お名前": customer_name, "電話番号": phone, "ご質問": message}
      imap: {host: imap.intake.example.jp, port: 993, security: ssl, user: homes@intake.example.jp, password: "imap-Secret-1", folder: INBOX}
  - code: website
    name: 自社HP
    preset: website
    enabled: false
    org: SBY
line:
  channel_secret: "0123456789abcdef0123456789abcdef"
  channel_access_token: "long+lived/token="
  org: SBY
  default_assignee: agent@intake.example.jp
""".replace("agent@example.jp", "agent@intake.example.jp")


def counts(**nonzero) -> dict[str, int]:
    return {kind: nonzero.get(kind, 0) for kind in all_kinds()}


def spec_of(text: str):
    parsed = parse_tenant_file(text)
    assert parsed.errors == ()
    return parsed.spec


def errors_of(text: str) -> list[str]:
    return [str(error) for error in parse_tenant_file(text).errors]


def test_apply_creates_the_sources_and_the_line_channel():
    result = do_apply_tenant_spec(spec_of(FILE))
    assert result.created == counts(company=1, org_units=2, users=2, memberships=2, inquiry_sources=3, line=1)
    company = Company.objects.get(code="intake")
    sources = list(InquirySource.objects.for_company(company).select_related("org_unit", "default_assignee").order_by("position"))
    assert [(s.code, s.name, s.preset, s.is_enabled, s.org_unit.code, s.default_assignee and s.default_assignee.email, s.position)
            for s in sources] == [
        ("suumo", "SUUMO", "suumo", True, "HQ", "agent@intake.example.jp", 0),
        ("homes", "LIFULL HOME'S", "", True, "SBY", "agent@intake.example.jp", 1),
        ("website", "自社HP", "website", False, "SBY", None, 2),
    ]
    assert sources[0].labels == {"お名前": "customer_name", "ご質問": "message"}
    assert (sources[0].from_contains, sources[0].subject_contains) == ("jds.suumo.jp", "反響")
    assert (sources[1].imap_host, sources[1].imap_port, sources[1].imap_user, sources[1].imap_password) == (
        "imap.intake.example.jp", 993, "homes@intake.example.jp", "imap-Secret-1")
    channel = LineChannel.objects.for_company(company).get()
    assert (channel.channel_secret, channel.channel_access_token, channel.org_unit.code, channel.default_assignee.email, channel.is_enabled) == (
        "0123456789abcdef0123456789abcdef", "long+lived/token=", "SBY", "agent@intake.example.jp", True)
    assert not [event for event in AuditEvent.objects.for_company(company) if "imap-Secret" in json.dumps([event.before, event.after])]


def test_a_second_apply_changes_nothing():
    do_apply_tenant_spec(spec_of(FILE))
    company = Company.objects.get(code="intake")
    events = AuditEvent.objects.for_company(company).count()
    stamps = list(InquirySource.objects.for_company(company).order_by("pk").values_list("updated_at", flat=True))
    result = do_apply_tenant_spec(spec_of(FILE))
    assert (result.changed, result.created, result.updated) == (False, counts(), counts())
    assert AuditEvent.objects.for_company(company).count() == events
    assert list(InquirySource.objects.for_company(company).order_by("pk").values_list("updated_at", flat=True)) == stamps


def test_a_changed_file_updates_and_keeps_what_it_does_not_say():
    do_apply_tenant_spec(spec_of(FILE))
    company = Company.objects.get(code="intake")
    # given: an admin set the SUUMO mailbox on the settings page
    InquirySource.objects.for_company(company).filter(code="suumo").update(imap_host="imap.suumo.example.jp", imap_user="u", imap_password="p")
    changed = FILE.replace("subject_contains: 反響", "subject_contains: 反響お知らせ").replace('"long+lived/token="', '"new-token"')
    result = do_apply_tenant_spec(spec_of(changed))
    assert result.updated == counts(inquiry_sources=1, line=1)
    suumo = InquirySource.objects.for_company(company).get(code="suumo")
    assert (suumo.subject_contains, suumo.imap_host, suumo.imap_password) == ("反響お知らせ", "imap.suumo.example.jp", "p")
    assert LineChannel.objects.for_company(company).get().channel_access_token == "new-token"


def test_the_dry_run_writes_nothing_and_counts_alike():
    result = do_apply_tenant_spec(spec_of(FILE), dry_run=True)
    assert result.created["inquiry_sources"] == 3 and result.created["line"] == 1
    assert not InquirySource.objects.unscoped().exists() and not LineChannel.objects.unscoped().exists()


def test_every_error_has_its_path():
    text = FILE.replace('labels: {"お名前": customer_name, "ご質問": message}', 'labels: {"お名前": name, "": message}') \
        .replace("preset: website", "preset: homes").replace("enabled: false", "enabled: nope\n    colour: red") \
        .replace("  org: SBY\n  default_assignee", "  org: SBY\n  webhook: x\n  default_assignee") \
        .replace("port: 993", "port: 99999")
    assert errors_of(text) == [
        "inquiry_sources[0].mail.labels.お名前: Unknown field name (known: " + ", ".join(__import__("estatecrm.inquiries.choices",
                                                                                          fromlist=["FIELDS"]).FIELDS) + ").",
        "inquiry_sources[0].mail.labels.: A label must not be empty.",
        "inquiry_sources[1].mail.imap.port: Enter a port from 1 to 65535.",
        "inquiry_sources[2].colour: Unknown key (expected one of: code, name, org, preset, enabled, default_assignee, case_kind, mail).",
        "inquiry_sources[2].preset: Must be one of: suumo, website.",
        "inquiry_sources[2].enabled: Must be true or false.",
        "line.webhook: Unknown key (expected one of: channel_secret, channel_access_token, org, default_assignee, enabled).",
    ]


def test_codes_are_unique_and_required_keys_reported():
    text = """
company: {code: intake, name: 反響}
inquiry_sources:
  - {code: suumo, name: SUUMO, org: HQ}
  - {code: suumo, name: SUUMO 2, org: HQ}
  - {name: 名無し}
line: {org: HQ}
"""
    assert errors_of(text) == [
        "inquiry_sources[1].code: Listed twice: already at inquiry_sources[0].code.",
        "inquiry_sources[2].code: This key is required.",
        "inquiry_sources[2].org: This key is required.",
        "line.channel_secret: This key is required.",
        "line.channel_access_token: This key is required.",
    ]


def test_org_codes_and_assignees_must_exist_in_the_file_or_the_company(company, org, agent):
    text = """
company: {code: acme, name: アクメ不動産株式会社}
inquiry_sources:
  - {code: suumo, name: SUUMO, org: SBY, default_assignee: agent@acme.example.jp}
  - {code: homes, name: HOME'S, org: NOPE, default_assignee: nobody@acme.example.jp}
line: {channel_secret: s, channel_access_token: t, org: XX}
"""
    with pytest.raises(ApplicationError) as refused:
        do_apply_tenant_spec(spec_of(text))
    assert refused.value.fields == {
        "inquiry_sources[1].org": ["No unit with code NOPE in the file or in the company."],
        "inquiry_sources[1].default_assignee": ["No user with the e-mail address nobody@acme.example.jp in the file or in the company."],
        "line.org": ["No unit with code XX in the file or in the company."],
    }
    assert not InquirySource.objects.unscoped().exists()
    # the units and users of the database are found
    result = do_apply_tenant_spec(spec_of(text.replace("NOPE", "SBY").replace("nobody@", "agent@").replace("XX", "SBY")))
    assert result.created == counts(inquiry_sources=2, line=1)


def test_an_assignee_who_cannot_see_the_unit_is_refused_with_the_files_path(company, org, agent):
    text = """
company: {code: acme, name: アクメ不動産株式会社}
inquiry_sources:
  - {code: suumo, name: SUUMO, org: SJK, default_assignee: agent@acme.example.jp}
"""
    with pytest.raises(ApplicationError) as refused:
        do_apply_tenant_spec(spec_of(text))
    assert list(refused.value.fields) == ["inquiry_sources[0].default_assignee"]
    assert "新宿店" in refused.value.fields["inquiry_sources[0].default_assignee"][0]
    assert not InquirySource.objects.unscoped().exists()


def test_the_command_reports_zero_the_second_time(tmp_path):
    path = tmp_path / "tenant.yaml"
    path.write_text(FILE, encoding="utf-8")
    out = io.StringIO()
    call_command("tenant", "apply", str(path), "--json", stdout=out)
    first = json.loads(out.getvalue())
    assert (first["created"]["inquiry_sources"], first["created"]["line"]) == (3, 1)
    out = io.StringIO()
    call_command("tenant", "apply", str(path), "--json", stdout=out)
    second = json.loads(out.getvalue())
    assert second["changed"] is False
    assert (second["created"]["inquiry_sources"], second["updated"]["inquiry_sources"], second["created"]["line"], second["updated"]["line"]) == (0, 0, 0, 0)
    path.write_text(FILE.replace("name: SUUMO", "name: SUUMO 賃貸"), encoding="utf-8")
    out = io.StringIO()
    call_command("tenant", "apply", str(path), "--dry-run", stdout=out)
    assert out.getvalue().strip() == "intake: would update inquiry_sources 1 (dry run: nothing written)"
    bad = tmp_path / "bad.yaml"
    bad.write_text(FILE.replace("preset: suumo", "preset: athome"), encoding="utf-8")
    with pytest.raises(CommandError, match=r"inquiry_sources\[0\]\.preset: Must be one of: suumo, website\."):
        call_command("tenant", "apply", str(bad), stdout=io.StringIO())
