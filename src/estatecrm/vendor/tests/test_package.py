"""Packages: a folder or a ZIP, checked before anything is unpacked, read through pipeline.readers."""

import zipfile

import pytest
import xlsxwriter

from estatecrm.core.errors import ApplicationError
from estatecrm.vendor import package as package_module
from estatecrm.vendor.error_codes import PACKAGE_UNREADABLE
from estatecrm.vendor.package import Package
from estatecrm.vendor.tests.packages import template_package


def write_zip(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def test_a_folder_and_a_zip_list_the_same_members(tmp_path):
    # given
    folder = template_package(tmp_path / "folder")
    archive = template_package(tmp_path / "package.zip", as_zip=True)
    # when
    with Package(folder) as from_folder, Package(archive) as from_zip:
        folder_members, zip_members = from_folder.members(), from_zip.members()
        header, rows = from_zip.rows("listings.csv")
    # then
    assert folder_members == zip_members == ["activities.csv", "agents.csv", "links.csv", "listings.csv", "manifest.json", "seekers.csv"]
    assert header[:3] == ["id", "title", "kind"]
    assert [(number, cells["id"]) for number, cells in rows] == [(2, "L-1001"), (3, "L-1002"), (4, "L-0901")]


def test_find_matches_a_file_in_a_top_folder_case_insensitively_and_ignores_system_files(tmp_path):
    # given
    path = write_zip(tmp_path / "export.zip", {"export/Contacts.CSV": b"a,b\n1,2\n", "__MACOSX/export/._Contacts.CSV": b"x",
                                               "export/.DS_Store": b"x", "export/deals-2024.csv": b"a\n1\n", "export/deals-2025.csv": b"a\n2\n"})
    # when
    with Package(path) as package:
        members = package.members()
        contacts = package.find("contacts.csv")
        deals = package.find("deals-*.csv")
    # then
    assert members == ["export/Contacts.CSV", "export/deals-2024.csv", "export/deals-2025.csv"]
    assert contacts == ["export/Contacts.CSV"]
    assert deals == ["export/deals-2024.csv", "export/deals-2025.csv"]


@pytest.mark.parametrize("name", ["../evil.csv", "/etc/passwd", "a/../../evil.csv", "C:/evil.csv", "a\\..\\evil.csv"])
def test_a_zip_with_a_member_outside_the_package_is_refused(tmp_path, name):
    # given
    path = write_zip(tmp_path / "evil.zip", {"agents.csv": b"email\n", name: b"x"})
    # when / then
    with pytest.raises(ApplicationError) as refused:
        Package(path).__enter__()
    assert refused.value.code == PACKAGE_UNREADABLE
    assert "outside the package" in refused.value.message


def test_a_zip_with_too_many_members_is_refused(tmp_path, monkeypatch):
    # given
    monkeypatch.setattr(package_module, "MAX_MEMBERS", 3)
    path = write_zip(tmp_path / "many.zip", {f"file{number}.csv": b"a\n1\n" for number in range(4)})
    # when / then
    with pytest.raises(ApplicationError) as refused, Package(path):
        pass
    assert refused.value.code == PACKAGE_UNREADABLE
    assert "more than 3 members" in refused.value.message


def test_a_member_too_large_uncompressed_is_refused_before_it_is_unpacked(tmp_path, monkeypatch):
    # given
    monkeypatch.setattr(package_module, "MAX_MEMBER_BYTES", 1024)
    path = write_zip(tmp_path / "big.zip", {"agents.csv": b"email\n" + b"a@example.jp\n" * 200})
    # when / then
    with pytest.raises(ApplicationError) as refused, Package(path):
        pass
    assert refused.value.code == PACKAGE_UNREADABLE
    assert refused.value.message.startswith("agents.csv: the file is too large")


def test_not_a_zip_and_no_such_path_are_refused(tmp_path):
    # given
    text = tmp_path / "package.zip"
    text.write_text("not a zip")
    # when / then
    for path in (text, tmp_path / "missing"):
        with pytest.raises(ApplicationError) as refused, Package(path):
            pass
        assert refused.value.code == PACKAGE_UNREADABLE


def test_a_damaged_member_is_named(tmp_path):
    # given: a member whose stored bytes no longer match its CRC
    path = write_zip(tmp_path / "damaged.zip", {"agents.csv": b"email,name,unit\n" + b"sato@demo.example.jp,x,\n" * 50})
    data = bytearray(path.read_bytes())
    start = data.index(b"agents.csv") + len("agents.csv") + 5
    data[start:start + 10] = b"\x00" * 10
    path.write_bytes(bytes(data))
    # when / then
    with pytest.raises(ApplicationError) as refused, Package(path) as package:
        package.rows("agents.csv")
    assert refused.value.code == PACKAGE_UNREADABLE
    assert refused.value.message.startswith("agents.csv: ")


def test_an_unreadable_line_names_the_member_and_the_line(tmp_path):
    # given: UTF-8 text with a broken byte on line 22
    folder = tmp_path / "package"
    folder.mkdir()
    (folder / "agents.csv").write_bytes(b"email,name,unit\n" + "sato@demo.example.jp,佐藤 花子,本店\n".encode() * 20
                                        + b"x@y.jp,\xff\xfe\xfd,\n")
    # when / then
    with pytest.raises(ApplicationError) as refused, Package(folder) as package:
        package.rows("agents.csv")
    assert refused.value.code == PACKAGE_UNREADABLE
    assert refused.value.message.startswith("agents.csv: Line 22 ")


def test_cp932_csv_and_xlsx_members_are_read(tmp_path):
    # given
    folder = tmp_path / "package"
    folder.mkdir()
    (folder / "agents.csv").write_bytes("email,name,unit\r\nsato@demo.example.jp,佐藤 花子,本店\r\n".encode("cp932"))
    workbook = xlsxwriter.Workbook(str(folder / "owners.xlsx"))
    sheet = workbook.add_worksheet("owners")
    sheet.write_row(0, 0, ["Email", "First Name", "Last Name", "Extension"])
    sheet.write_row(1, 0, ["suzuki@demo.example.jp", "一郎", "鈴木"])
    sheet.write_number(1, 3, 204)
    workbook.close()
    # when
    with Package(folder) as package:
        _header, agents = package.rows("agents.csv")
        owner_header, owners = package.rows("owners.xlsx")
    # then
    assert agents == [(2, {"email": "sato@demo.example.jp", "name": "佐藤 花子", "unit": "本店"})]
    assert owner_header == ["Email", "First Name", "Last Name", "Extension"]
    assert owners == [(2, {"Email": "suzuki@demo.example.jp", "First Name": "一郎", "Last Name": "鈴木", "Extension": "204"})]


def test_invalid_json_names_the_member_and_line(tmp_path):
    # given
    folder = tmp_path / "package"
    folder.mkdir()
    (folder / "manifest.json").write_text('{\n"format": "estatecrm-vendor/1",\n"vendor": \n}')
    # when / then
    with pytest.raises(ApplicationError) as refused, Package(folder) as package:
        package.json("manifest.json")
    assert refused.value.message == "manifest.json, line 4: the file is not valid JSON."


def test_a_folder_member_linking_outside_the_package_is_not_read(tmp_path):
    # given
    secret = tmp_path / "secret.csv"
    secret.write_text("email,name,unit\nboss@example.jp,x,\n", encoding="utf-8")
    folder = template_package(tmp_path / "package")
    (folder / "agents.csv").unlink()
    (folder / "agents.csv").symlink_to(secret)
    # when
    with Package(folder) as package:
        members = package.members()
        # then
        assert "agents.csv" not in members
        with pytest.raises(ApplicationError) as refused:
            package.local_path("agents.csv")
    assert refused.value.message == "agents.csv: the file lies outside the package."
