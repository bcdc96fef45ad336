"""The tenant set-up file: parsing and validation (no database), applying it, idempotence, the command."""

import io
import json
from collections import Counter
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command

from estatecrm.audit.models import AuditEvent
from estatecrm.core import testing
from estatecrm.core.errors import ApplicationError
from estatecrm.crm.actions import do_upsert_custom_field
from estatecrm.crm.models import CustomField, Project, ProjectField, Rank, SubStatus, Tag
from estatecrm.crm.tenant_file import (
    CompanySpec,
    CustomFieldSpec,
    OrgUnitSpec,
    ProjectSpec,
    SpecError,
    StatusSpec,
    TenantSpec,
    UserSpec,
    WorkgroupSpec,
    parse_tenant_file,
)
from estatecrm.crm.tenant_setup import all_kinds, do_apply_tenant_spec
from estatecrm.tenancy.models import Company, Membership, OrgUnit, User, Workgroup, WorkgroupMember

REPO_ROOT = Path(__file__).resolve().parents[4]
SAMPLE = REPO_ROOT / ".." / "shared" / "legacy-export" / "sample" / "tenant.yaml"

EXAMPLE = """
company: {code: k0001, name: サンプル不動産株式会社}
org_units:
  - {code: SBY, name: 渋谷店, parent: HQ, case_visibility: assignees}
  - {code: HQ, name: 本社}
users:
  - {email: Admin@Example.jp, name: 管理　太郎, org: HQ, role: admin, password: "Adm1n-pass-4-test"}
  - {email: a@example.jp, name: 山田 花子, org: SBY, role: agent}
ranks: [S, A, B, C]
statuses: {追客中: [反響対応中, 内見調整中], 申込中: [審査中]}
tags: [ファミリー, 単身]
custom_fields: [{name: 所有物件数, type: number}, {name: 希望エリア, type: choice, choices: [都内, 神奈川], required: true}]
projects: [{name: 春の反響リスト, custom_fields: [所有物件数]}]
workgroups: [{name: 新人チーム, members: [A@example.jp]}]
"""

# A small tree for update tests: HQ -> TKY -> SBY -> SBY2, HQ -> KNG.
TREE = """
company: {code: tree, name: ツリー不動産}
org_units:
  - {code: HQ, name: 本社}
  - {code: TKY, name: 東京エリア, parent: HQ}
  - {code: SBY, name: 渋谷店, parent: TKY}
  - {code: SBY2, name: 渋谷二号店, parent: SBY}
  - {code: KNG, name: 神奈川エリア, parent: HQ}
users:
  - {email: agent@tree.example.jp, name: 渋谷 一郎, org: SBY, role: agent, password: "first-Pass-word-1"}
ranks: [S, A, B]
tags: [単身, ファミリー]
"""


def spec_of(text: str) -> TenantSpec:
    parsed = parse_tenant_file(text)
    assert parsed.errors == ()
    return parsed.spec


def counts(**nonzero) -> dict[str, int]:
    return {kind: nonzero.get(kind, 0) for kind in all_kinds()}


def database_dump() -> dict[str, list[dict]]:
    """Every row of every table of the tenancy, crm and audit apps, all columns (password hashes too)."""
    dump = {}
    for label in ("tenancy", "crm", "audit"):
        for model in apps.get_app_config(label).get_models(include_auto_created=True):
            dump[model._meta.label] = list(model._base_manager.order_by("pk").values())
    return dump


def run_command(*args) -> str:
    out = io.StringIO()
    call_command("tenant", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def audit_count() -> int:
    # The audit trail of every company: this test looks at all of it.
    return AuditEvent.objects.unscoped().count()


# ---------------------------------------------------------------------------------------------
# Parsing and validation (pure: these tests have no database access)


def test_example_file_parses_into_a_normalized_spec():
    # when
    parsed = parse_tenant_file(EXAMPLE)
    # then
    assert parsed.errors == ()
    assert parsed.spec == TenantSpec(
        company=CompanySpec("k0001", "サンプル不動産株式会社"),
        org_units=(OrgUnitSpec("SBY", "渋谷店", "HQ", "assignees"), OrgUnitSpec("HQ", "本社", None, "org")),
        users=(
            UserSpec("admin@example.jp", "管理 太郎", "HQ", "admin", "Adm1n-pass-4-test"),
            UserSpec("a@example.jp", "山田 花子", "SBY", "agent", None),
        ),
        ranks=("S", "A", "B", "C"),
        statuses=(StatusSpec("追客中", ("反響対応中", "内見調整中")), StatusSpec("申込中", ("審査中",))),
        tags=("ファミリー", "単身"),
        custom_fields=(CustomFieldSpec("所有物件数", "number"), CustomFieldSpec("希望エリア", "choice", ("都内", "神奈川"), True)),
        projects=(ProjectSpec("春の反響リスト", ("所有物件数",)),),
        workgroups=(WorkgroupSpec("新人チーム", ("a@example.jp",)),),
    )
    assert [unit.code for unit in parsed.spec.org_units_parents_first()] == ["HQ", "SBY"]


def test_password_is_not_shown_in_the_spec_repr():
    spec = spec_of(EXAMPLE)
    assert "Adm1n" not in repr(spec)


def test_sample_file_parses_with_full_width_spaces_collapsed():
    spec = spec_of(SAMPLE.read_bytes())
    assert (len(spec.org_units), len(spec.users), spec.ranks, len(spec.tags)) == (6, 22, ("A", "B", "C", "S"), 12)
    assert [user.name for user in spec.users if user.email.startswith(("staff003@", "staff020@"))] == ["佐々木 涼平", "森 裕美子"]


def test_parents_are_created_before_their_children_whatever_the_file_order():
    spec = spec_of("""
company: {code: c, name: C}
org_units:
  - {code: D, name: d, parent: C}
  - {code: C, name: c, parent: B}
  - {code: X, name: x}
  - {code: B, name: b, parent: A}
  - {code: A, name: a}
""")
    assert [unit.code for unit in spec.org_units_parents_first()] == ["A", "B", "C", "D", "X"]


COMPANY = "company: {code: c1, name: 会社}\n"
UNITS = "org_units: [{code: HQ, name: 本社}]\n"


@pytest.mark.parametrize(
    ("text", "errors"),
    [
        pytest.param("org_units: []\n", ["company: This key is required."], id="company missing"),
        pytest.param(COMPANY + "users_list: []\n", [
            "users_list: Unknown key (expected one of: company, org_units, users, ranks, statuses, tags, custom_fields, projects, workgroups, "
            "inquiry_sources, line).",
        ], id="unknown top-level key"),
        pytest.param("company: {code: c1}\n", ["company.name: This key is required."], id="company name missing"),
        pytest.param("company: {code: 'k 01', name: 会社}\n", [
            "company.code: A company code is 1 to 32 letters, digits, '-' or '_'.",
        ], id="company code with a space"),
        pytest.param("company: {code: " + "k" * 33 + ", name: 会社}\n", ["company.code: At most 32 characters."], id="company code too long"),
        pytest.param("company: {code: 0001, name: 会社}\n", [
            "company.code: Must be text (put numbers, dates, yes/no and the like in quotes).",
        ], id="company code read as a number"),
        pytest.param("company: {code: c1, name: '　'}\n", ["company.name: Must not be empty."], id="company name only a full-width space"),
        pytest.param("company: [c1]\n", ["company: Expected a mapping of keys to values."], id="company not a mapping"),
        pytest.param(COMPANY + "org_units: {code: HQ}\n", ["org_units: Expected a list."], id="units not a list"),
        pytest.param(COMPANY + "org_units: [{code: HQ, name: 本社, colour: red}]\n", [
            "org_units[0].colour: Unknown key (expected one of: code, name, parent, case_visibility).",
        ], id="unknown unit key"),
        pytest.param(COMPANY + "org_units: [{code: HQ, name: 本社}, {code: HQ, name: 本店}]\n", [
            "org_units[1].code: Listed twice: already at org_units[0].code.",
        ], id="duplicate unit code"),
        pytest.param(COMPANY + "org_units: [{code: HQ, name: 本社}, {code: SBY, name: 渋谷店, parent: TKY}]\n", [
            "org_units[1].parent: No unit with code TKY in org_units.",
        ], id="unknown parent"),
        pytest.param(COMPANY + "org_units: [{code: A, name: a, parent: B}, {code: B, name: b, parent: A}, {code: C, name: c, parent: C}]\n", [
            "org_units[0].parent: The parent chain loops back to this unit: A -> B -> A.",
            "org_units[1].parent: The parent chain loops back to this unit: B -> A -> B.",
            "org_units[2].parent: The parent chain loops back to this unit: C -> C.",
        ], id="parent cycles"),
        pytest.param(COMPANY + "org_units: [{code: HQ, name: 本社, case_visibility: everyone}]\n", [
            "org_units[0].case_visibility: Must be one of: org, assignees.",
        ], id="bad visibility"),
        pytest.param(COMPANY + UNITS + "users: [{email: a@example.jp, org: HQ}]\n", ["users[0].name: This key is required."], id="user name missing"),
        pytest.param(COMPANY + UNITS + "users: [{email: 'a@@example', name: 甲, org: HQ}]\n", [
            "users[0].email: This is not a valid e-mail address.",
        ], id="bad email"),
        pytest.param(COMPANY + UNITS + "users: [{email: A@Example.jp, name: 甲, org: HQ}, {email: ａ＠example.JP, name: 乙, org: HQ}]\n", [
            "users[1].email: Listed twice: already at users[0].email.",
        ], id="duplicate email ignoring case and width"),
        pytest.param(COMPANY + UNITS + "users: [{email: a@example.jp, name: 甲, org: SBY}]\n", [
            "users[0].org: No unit with code SBY in org_units.",
        ], id="user of an unknown unit"),
        pytest.param(COMPANY + UNITS + "users: [{email: a@example.jp, name: 甲, org: HQ, role: owner}]\n", [
            "users[0].role: Must be one of: admin, agent.",
        ], id="bad role"),
        pytest.param(COMPANY + UNITS + "users: [{email: a@example.jp, name: 甲, org: HQ, password: password}]\n", [
            "users[0].password: This password is too common.",
        ], id="common password"),
        pytest.param(COMPANY + UNITS + "users: [{email: a@example.jp, name: 甲, org: HQ, password: 12345678901}]\n", [
            "users[0].password: Must be text (put numbers, dates, yes/no and the like in quotes).",
        ], id="password read as a number"),
        pytest.param(COMPANY + "ranks: [S, A, S, yes]\n", [
            "ranks[2]: Listed twice: already at ranks[0].",
            "ranks[3]: Must be text (put numbers, dates, yes/no and the like in quotes).",
        ], id="duplicate rank and a boolean rank"),
        pytest.param(COMPANY + "tags: [単身, '単身 ', ファミリー]\n", ["tags[1]: Listed twice: already at tags[0]."], id="duplicate tag after trimming"),
        pytest.param(COMPANY + "statuses: {追客中: [反響対応中], 商談中: [一次商談]}\n", [
            "statuses.商談中: Must be one of: 新規, 追客中, 申込中, 契約済, 追客終了, 保留.",
        ], id="status that is not a fixed one"),
        pytest.param(COMPANY + "statuses: [追客中]\n", ["statuses: Expected a mapping of keys to values."], id="statuses not a mapping"),
        pytest.param(COMPANY + "custom_fields: [{name: 年収, type: money}]\n", [
            "custom_fields[0].type: Must be one of: text, number, date, boolean, choice, multi_choice.",
        ], id="bad custom field type"),
        pytest.param(COMPANY + "custom_fields: [{name: 区分, type: multi_choice}]\n", [
            "custom_fields[0].choices: A field of type multi_choice needs a list of choices.",
        ], id="choice field without choices"),
        pytest.param(COMPANY + "custom_fields: [{name: 年収, type: number, choices: [高, 低]}]\n", [
            "custom_fields[0].choices: Only fields of type choice or multi_choice have choices.",
        ], id="choices on a number field"),
        pytest.param(COMPANY + "custom_fields: [{name: 年収, type: number, required: maybe}, {name: 年収, type: text}]\n", [
            "custom_fields[0].required: Must be true or false.",
            "custom_fields[1].name: Listed twice: already at custom_fields[0].name.",
        ], id="bad required flag and duplicate field"),
        pytest.param(COMPANY + "projects: [{name: 春, custom_fields: 年収}]\n", ["projects[0].custom_fields: Expected a list."], id="project fields not a list"),
        pytest.param(COMPANY + "projects: [{name: 春, case_kind: lease, customer_kind: person}]\n",
                     ["projects[0].case_kind: Must be one of: rent, buy."], id="project case kind"),
        pytest.param(COMPANY + "workgroups: [{name: 新人, members: [x@example.jp, X@example.jp, nobody]}]\n", [
            "workgroups[0].members[1]: Listed twice: already at workgroups[0].members[0].",
            "workgroups[0].members[2]: This is not a valid e-mail address.",
        ], id="workgroup members"),
    ],
)
def test_invalid_file_reports_each_error_with_its_path(text, errors):
    # when
    parsed = parse_tenant_file(text)
    # then
    assert [str(error) for error in parsed.errors] == errors
    assert parsed.spec is None


def test_all_errors_of_a_file_are_collected():
    # given
    text = """
company: {code: c1, name: 会社}
org_units: [{code: HQ, name: 本社, parent: ZZ}]
users: [{email: bad, name: 甲, org: XX}]
ranks: [S, S]
"""
    # when
    errors = parse_tenant_file(text).errors
    # then
    assert errors == (
        SpecError("org_units[0].parent", "No unit with code ZZ in org_units."),
        SpecError("users[0].email", "This is not a valid e-mail address."),
        SpecError("users[0].org", "No unit with code XX in org_units."),
        SpecError("ranks[1]", "Listed twice: already at ranks[0]."),
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("- company\n", "The file must be a mapping of keys (company, org_units, users, ...).", id="a list"),
        pytest.param("just text\n", "The file must be a mapping of keys (company, org_units, users, ...).", id="a string"),
        pytest.param("", "The file must be a mapping of keys (company, org_units, users, ...).", id="empty"),
        pytest.param("company: {code: c1, name: [\n", "The file is not valid YAML: expected the node content, but found '<stream end>' (line 2, column 1).",
                     id="broken YAML"),
        pytest.param("company: {code: c1, name: A}\nranks: [S]\nranks: [A]\n", "The file is not valid YAML: found duplicate key 'ranks' (line 3, column 1).",
                     id="duplicate key"),
        pytest.param("company: !!python/object:os.system {}\n",
                     "The file is not valid YAML: could not determine a constructor for the tag 'tag:yaml.org,2002:python/object:os.system' (line 1, column 10).",
                     id="python tag refused"),
        pytest.param("company: 会社\n".encode("cp932"), "The file is not UTF-8 text.", id="not UTF-8"),
    ],
)
def test_file_that_is_not_a_yaml_mapping_is_refused(content, message):
    assert [str(error) for error in parse_tenant_file(content).errors] == [message]


def test_utf8_file_with_bom_parses():
    assert parse_tenant_file("\ufeffcompany: {code: c1, name: 会社}\n".encode()).spec == TenantSpec(company=CompanySpec("c1", "会社"))


# ---------------------------------------------------------------------------------------------
# Applying


@pytest.mark.django_db
def test_sample_tenant_applies_with_exact_counts():
    # when
    result = do_apply_tenant_spec(spec_of(SAMPLE.read_bytes()))
    # then
    assert (result.company_code, result.changed) == ("k0001", True)
    assert result.created == counts(company=1, org_units=6, users=22, memberships=22, ranks=4, sub_statuses=4, tags=12)
    assert result.updated == counts()
    company = Company.objects.get(code="k0001")
    assert company.name == "サンプル不動産株式会社"
    units = {unit.code: unit for unit in OrgUnit.objects.for_company(company)}
    assert {code: (unit.name, unit.parent.code if unit.parent else None, unit.case_visibility) for code, unit in units.items()} == {
        "HQ": ("本社", None, "org"), "TKY": ("東京エリア", "HQ", "org"), "SBY": ("渋谷店", "TKY", "org"),
        "SJK": ("新宿店", "TKY", "org"), "KNG": ("神奈川エリア", "HQ", "org"), "MKS": ("武蔵小杉店", "KNG", "org"),
    }
    pk = {code: unit.pk for code, unit in units.items()}
    assert {code: unit.path for code, unit in units.items()} == {
        "HQ": f"/{pk['HQ']}/", "TKY": f"/{pk['HQ']}/{pk['TKY']}/", "SBY": f"/{pk['HQ']}/{pk['TKY']}/{pk['SBY']}/",
        "SJK": f"/{pk['HQ']}/{pk['TKY']}/{pk['SJK']}/", "KNG": f"/{pk['HQ']}/{pk['KNG']}/", "MKS": f"/{pk['HQ']}/{pk['KNG']}/{pk['MKS']}/",
    }
    assert User.objects.filter(company=company).count() == 22
    memberships = Membership.objects.for_company(company).select_related("org_unit")
    assert Counter((m.org_unit.code, m.role, m.is_primary) for m in memberships) == Counter({
        ("HQ", "admin", True): 1, ("SBY", "agent", True): 7, ("SJK", "agent", True): 7, ("MKS", "agent", True): 5, ("TKY", "agent", True): 2,
    })
    admin = User.objects.get(email="admin@example-fudosan.jp")
    assert (admin.name, admin.check_password("Adm1n-pass-4-eval")) == ("管理 太郎", True)
    staff = User.objects.get(email="staff003@example-fudosan.jp")
    assert (staff.name, staff.has_usable_password()) == ("佐々木 涼平", False)
    assert list(Rank.objects.for_company(company).values_list("name", "position")) == [("A", 0), ("B", 1), ("C", 2), ("S", 3)]
    assert list(SubStatus.objects.for_company(company).order_by("status", "position").values_list("status", "name", "position")) == [
        ("申込中", "申込書受領", 0), ("申込中", "審査中", 1), ("追客中", "反響対応中", 0), ("追客中", "内見調整中", 1),
    ]
    assert list(Tag.objects.for_company(company).values_list("name", flat=True)) == [
        "ファミリー", "ペット", "単身", "外国籍", "学生", "急ぎ", "投資", "新婚", "法人", "転勤", "高予算", "高齢者",
    ]
    assert AuditEvent.objects.for_company(company).count() == 1 + 6 + 22 + 22 + 4 + 4 + 12


@pytest.mark.django_db
def test_applying_the_sample_twice_changes_nothing_the_second_time():
    # given
    spec = spec_of(SAMPLE.read_bytes())
    do_apply_tenant_spec(spec)
    before = database_dump()
    events = audit_count()
    # when
    result = do_apply_tenant_spec(spec)
    # then
    assert (result.changed, result.created, result.updated) == (False, counts(), counts())
    assert audit_count() == events
    assert database_dump() == before  # every column of every row, password hashes and updated_at included


@pytest.mark.django_db
def test_example_file_applies_masters_projects_and_workgroups():
    # when
    result = do_apply_tenant_spec(spec_of(EXAMPLE))
    # then
    assert result.created == counts(company=1, org_units=2, users=2, memberships=2, ranks=4, sub_statuses=3, tags=2,
                                    custom_fields=2, projects=1, workgroups=1)
    company = Company.objects.get(code="k0001")
    assert OrgUnit.objects.for_company(company).get(code="SBY").case_visibility == "assignees"
    assert list(CustomField.objects.for_company(company).values_list("name", "field_type", "choices", "is_required", "position")) == [
        ("所有物件数", "number", [], False, 0), ("希望エリア", "choice", ["都内", "神奈川"], True, 1),
    ]
    project = Project.objects.for_company(company).get()
    assert list(ProjectField.objects.for_company(company).filter(project=project).values_list("custom_field__name", flat=True)) == ["所有物件数"]
    workgroup = Workgroup.objects.for_company(company).get()
    assert (workgroup.name, list(WorkgroupMember.objects.for_company(company).values_list("user__email", flat=True))) == (
        "新人チーム", ["a@example.jp"])


@pytest.mark.django_db
def test_user_email_of_another_company_is_refused_and_nothing_is_written(other_company):
    # given
    spec = spec_of(EXAMPLE.replace("a@example.jp", "ADMIN@other.example.jp").replace("A@example.jp", "admin@other.example.jp"))
    before = database_dump()
    # when
    with pytest.raises(ApplicationError) as raised:
        do_apply_tenant_spec(spec)
    # then
    assert (raised.value.code, raised.value.fields) == ("tenant_file_invalid", {
        "users[1].email": ["The e-mail address admin@other.example.jp belongs to a user of another company "
                           "(a user belongs to one company only)."],
    })
    assert database_dump() == before


@pytest.mark.django_db
def test_project_fields_and_workgroup_members_may_already_exist_in_the_company():
    # given
    company = testing.make_company("k0001", "サンプル不動産株式会社")
    hq = testing.make_unit(company, "HQ", name="本社")
    testing.make_user(company, hq, email="veteran@example.jp", name="古参 次郎")
    do_upsert_custom_field(company=company, name="築年数", field_type="number")
    spec = spec_of(COMPANY.replace("c1", "k0001") + UNITS + """
custom_fields: [{name: 所有物件数, type: number}]
projects: [{name: 秋のリスト, custom_fields: [所有物件数, 築年数]}]
workgroups: [{name: 指導役, members: [Veteran@example.jp]}]
""")
    # when
    result = do_apply_tenant_spec(spec)
    # then
    assert result.created == counts(custom_fields=1, projects=1, workgroups=1)
    assert result.updated == counts(company=1)  # renamed from サンプル不動産株式会社 to 会社
    assert list(ProjectField.objects.for_company(company).values_list("custom_field__name", flat=True)) == ["所有物件数", "築年数"]
    assert list(WorkgroupMember.objects.for_company(company).values_list("user__email", flat=True)) == ["veteran@example.jp"]


@pytest.mark.django_db
def test_unknown_project_field_and_workgroup_member_are_refused_with_paths(other_company):
    # given: the other company's admin and custom field are not this company's
    do_upsert_custom_field(company=other_company["company"], name="築年数", field_type="number")
    spec = spec_of(COMPANY + UNITS + """
projects: [{name: 秋のリスト, custom_fields: [築年数]}]
workgroups: [{name: 指導役, members: [admin@other.example.jp, nobody@example.jp]}]
""")
    before = database_dump()
    # when
    with pytest.raises(ApplicationError) as raised:
        do_apply_tenant_spec(spec)
    # then
    assert raised.value.fields == {
        "projects[0].custom_fields[0]": ["No custom field named 築年数 in the file or in the company."],
        "workgroups[0].members[0]": ["No user with the e-mail address admin@other.example.jp in the file or in the company."],
        "workgroups[0].members[1]": ["No user with the e-mail address nobody@example.jp in the file or in the company."],
    }
    assert database_dump() == before


@pytest.mark.django_db
def test_rename_move_and_visibility_change_are_applied_and_audited():
    # given
    do_apply_tenant_spec(spec_of(TREE))
    company = Company.objects.get(code="tree")
    unit = {u.code: u for u in OrgUnit.objects.for_company(company)}
    events = audit_count()
    changed = (TREE.replace("{code: TKY, name: 東京エリア,", "{code: TKY, name: 東京本部,")
               .replace("{code: SBY, name: 渋谷店, parent: TKY}", "{code: SBY, name: 渋谷店, parent: KNG, case_visibility: assignees}"))
    # when
    result = do_apply_tenant_spec(spec_of(changed))
    # then
    assert (result.created, result.updated) == (counts(), counts(org_units=2))
    moved = {u.code: u for u in OrgUnit.objects.for_company(company)}
    hq, kng, sby = unit["HQ"].pk, unit["KNG"].pk, unit["SBY"].pk
    assert {code: (u.name, u.path, u.case_visibility) for code, u in moved.items()} == {
        "HQ": ("本社", f"/{hq}/", "org"), "TKY": ("東京本部", f"/{hq}/{unit['TKY'].pk}/", "org"),
        "KNG": ("神奈川エリア", f"/{hq}/{kng}/", "org"), "SBY": ("渋谷店", f"/{hq}/{kng}/{sby}/", "assignees"),
        "SBY2": ("渋谷二号店", f"/{hq}/{kng}/{sby}/{unit['SBY2'].pk}/", "org"),
    }
    updates = AuditEvent.objects.for_company(company).filter(verb="update", object_type="tenancy.orgunit").order_by("pk")
    assert [(event.object_id, event.before, event.after) for event in updates] == [
        (str(unit["TKY"].pk), {"name": "東京エリア"}, {"name": "東京本部"}),
        (str(sby), {"parent_id": unit["TKY"].pk, "case_visibility": "org"}, {"parent_id": kng, "case_visibility": "assignees"}),
    ]
    assert audit_count() == events + 2


@pytest.mark.django_db
def test_swapping_parent_and_child_reorders_the_tree():
    # given: HQ -> TKY -> SBY
    do_apply_tenant_spec(spec_of(TREE))
    company = Company.objects.get(code="tree")
    swapped = TREE.replace("{code: TKY, name: 東京エリア, parent: HQ}", "{code: TKY, name: 東京エリア, parent: SBY}").replace(
        "{code: SBY, name: 渋谷店, parent: TKY}", "{code: SBY, name: 渋谷店, parent: HQ}")
    # when
    result = do_apply_tenant_spec(spec_of(swapped))
    # then
    unit = {u.code: u for u in OrgUnit.objects.for_company(company)}
    hq, sby, tky = unit["HQ"].pk, unit["SBY"].pk, unit["TKY"].pk
    assert result.updated == counts(org_units=2)
    assert {code: u.path for code, u in unit.items()} == {
        "HQ": f"/{hq}/", "SBY": f"/{hq}/{sby}/", "TKY": f"/{hq}/{sby}/{tky}/", "SBY2": f"/{hq}/{sby}/{unit['SBY2'].pk}/",
        "KNG": f"/{hq}/{unit['KNG'].pk}/",
    }


@pytest.mark.django_db
def test_reordered_ranks_and_tags_take_the_file_order_audited():
    # given
    do_apply_tenant_spec(spec_of(TREE))
    company = Company.objects.get(code="tree")
    events = audit_count()
    # when
    result = do_apply_tenant_spec(spec_of(TREE.replace("ranks: [S, A, B]", "ranks: [B, A, S, C]").replace("tags: [単身, ファミリー]", "tags: [ファミリー, 単身]")))
    # then
    assert (result.created, result.updated) == (counts(ranks=1), counts(ranks=2, tags=2))
    assert list(Rank.objects.for_company(company).values_list("name", "position")) == [("B", 0), ("A", 1), ("S", 2), ("C", 3)]
    assert list(Tag.objects.for_company(company).values_list("name", "position")) == [("ファミリー", 0), ("単身", 1)]
    assert AuditEvent.objects.for_company(company).filter(verb="update", object_type="crm.rank", object_id=str(
        Rank.objects.for_company(company).get(name="S").pk)).get().after == {"position": 2}
    assert audit_count() == events + 5


@pytest.mark.django_db
def test_user_moved_to_another_unit_gets_a_new_primary_membership():
    # given
    do_apply_tenant_spec(spec_of(TREE))
    company = Company.objects.get(code="tree")
    # when
    result = do_apply_tenant_spec(spec_of(TREE.replace("org: SBY, role: agent", "org: KNG, role: admin")))
    # then
    assert result.created == counts(memberships=1)
    assert result.updated == counts()
    memberships = Membership.objects.for_company(company).order_by("pk")
    assert list(memberships.values_list("org_unit__code", "role", "is_primary")) == [("SBY", "agent", False), ("KNG", "admin", True)]


@pytest.mark.django_db
def test_password_is_kept_when_it_matches_and_replaced_when_it_changes():
    # given
    do_apply_tenant_spec(spec_of(TREE))
    user = User.objects.get(email="agent@tree.example.jp")
    first_hash = user.password
    # when
    same = do_apply_tenant_spec(spec_of(TREE))
    changed = do_apply_tenant_spec(spec_of(TREE.replace("first-Pass-word-1", "second-Pass-word-2")))
    # then
    user.refresh_from_db()
    assert (same.changed, changed.updated) == (False, counts(users=1))
    assert first_hash != user.password
    assert user.check_password("second-Pass-word-2")
    event = AuditEvent.objects.unscoped().filter(object_type="tenancy.user", verb="update").get()
    assert event.after == {"password": "***"}


@pytest.mark.django_db
def test_nothing_missing_from_the_file_is_deleted():
    # given
    do_apply_tenant_spec(spec_of(TREE))
    company = Company.objects.get(code="tree")
    before = database_dump()
    smaller = "company: {code: tree, name: ツリー不動産}\norg_units: [{code: HQ, name: 本社}]\nranks: [S]\n"
    # when
    result = do_apply_tenant_spec(spec_of(smaller))
    # then
    assert result.changed is False
    assert database_dump() == before
    assert OrgUnit.objects.for_company(company).count() == 5


@pytest.mark.django_db
def test_dry_run_reports_the_changes_and_writes_nothing(other_company):
    # given
    before = database_dump()
    # when
    result = do_apply_tenant_spec(spec_of(SAMPLE.read_bytes()), dry_run=True)
    # then
    assert (result.changed, result.created["users"]) == (True, 22)
    assert database_dump() == before


# ---------------------------------------------------------------------------------------------
# The command


@pytest.mark.django_db
def test_command_json_output_for_the_sample():
    # when
    out = run_command("apply", str(SAMPLE), "--json")
    again = run_command("apply", str(SAMPLE), "--json")
    # then
    assert json.loads(out) == {
        "company": "k0001", "changed": True,
        "created": counts(company=1, org_units=6, users=22, memberships=22, ranks=4, sub_statuses=4, tags=12),
        "updated": counts(),
    }
    assert json.loads(again) == {"company": "k0001", "changed": False, "created": counts(), "updated": counts()}


@pytest.mark.django_db
def test_command_human_summary_and_no_changes(tmp_path):
    # given
    path = tmp_path / "tenant.yaml"
    path.write_text(TREE, encoding="utf-8")
    # when
    first = run_command("apply", str(path))
    second = run_command("apply", str(path))
    path.write_text(TREE.replace("渋谷店", "渋谷本店"), encoding="utf-8")
    third = run_command("apply", str(path))
    # then
    assert first == "tree: created company 1, org_units 5, users 1, memberships 1, ranks 3, tags 2\n"
    assert second == "tree: no changes\n"
    assert third == "tree: updated org_units 1\n"


@pytest.mark.django_db
def test_command_dry_run_writes_nothing():
    # given
    before = database_dump()
    # when
    out = run_command("apply", str(SAMPLE), "--dry-run")
    # then
    assert out == ("k0001: would create company 1, org_units 6, users 22, memberships 22, ranks 4, sub_statuses 4, tags 12"
                   " (dry run: nothing written)\n")
    assert database_dump() == before


@pytest.mark.django_db
def test_command_lists_every_error_of_an_invalid_file_and_writes_nothing(tmp_path):
    # given
    path = tmp_path / "bad.yaml"
    path.write_text(COMPANY + UNITS + "users: [{email: bad, name: 甲, org: XX, role: boss}]\nstatuses: {商談中: [一次]}\n", encoding="utf-8")
    before = database_dump()
    # when
    with pytest.raises(CommandError) as raised:
        run_command("apply", str(path), "--json")
    # then
    assert str(raised.value).splitlines() == [
        f"{path} is not a valid tenant file:",
        "users[0].email: This is not a valid e-mail address.",
        "users[0].org: No unit with code XX in org_units.",
        "users[0].role: Must be one of: admin, agent.",
        "statuses.商談中: Must be one of: 新規, 追客中, 申込中, 契約済, 追客終了, 保留.",
    ]
    assert raised.value.returncode == 1
    assert database_dump() == before


@pytest.mark.django_db
def test_command_refuses_an_email_of_another_company(tmp_path, other_company):
    # given
    path = tmp_path / "tenant.yaml"
    path.write_text(COMPANY + UNITS + "users: [{email: admin@other.example.jp, name: 甲, org: HQ}]\n", encoding="utf-8")
    # when
    with pytest.raises(CommandError) as raised:
        run_command("apply", str(path))
    # then
    assert str(raised.value).splitlines() == [
        f"{path}: The tenant file does not fit the database (1 error).",
        "users[0].email: The e-mail address admin@other.example.jp belongs to a user of another company "
        "(a user belongs to one company only).",
    ]
    assert Company.objects.filter(code="c1").exists() is False


@pytest.mark.django_db
def test_command_reports_a_missing_file(tmp_path):
    with pytest.raises(CommandError) as raised:
        run_command("apply", str(tmp_path / "missing.yaml"))
    assert str(raised.value) == f"Cannot read {tmp_path / 'missing.yaml'}: No such file or directory"


@pytest.mark.django_db
def test_a_project_of_the_file_says_which_kinds_its_imports_create():
    # given
    spec = spec_of(COMPANY.replace("c1", "k0002") + UNITS + """
projects: [{name: 売買リスト, case_kind: buy, customer_kind: company}, {name: 賃貸リスト}]
""")
    # when
    do_apply_tenant_spec(spec)
    # then: a project without kinds keeps the defaults (賃貸 / 個人)
    from estatecrm.crm.models import Project

    kinds = dict((name, (case, customer)) for name, case, customer in Project.objects.unscoped().filter(company__code="k0002").values_list(
        "name", "default_case_kind", "default_customer_kind"))
    assert kinds == {"売買リスト": ("buy", "company"), "賃貸リスト": ("rent", "person")}
