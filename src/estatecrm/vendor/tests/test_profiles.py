"""Profiles: loading and validating YAML, and reading packages of each built-in and of a file profile."""

import datetime
import json
import shutil
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import xlsxwriter

from estatecrm.core.errors import ApplicationError
from estatecrm.vendor.error_codes import PACKAGE_UNREADABLE, PROFILE_INVALID, PROFILE_UNKNOWN
from estatecrm.vendor.models import MoveIn
from estatecrm.vendor.profiles import Profile, extract, load_profile, profile_for_move_in, profile_from_text
from estatecrm.vendor.tests.packages import (
    HUBSPOT_COLUMNS,
    HUBSPOT_JAPANESE,
    HUBSPOT_POLISH,
    JAPANESE,
    POLISH,
    SALESFORCE_POLISH,
    hubspot_package,
    salesforce_package,
    template_package,
)

TOKYO = ZoneInfo("Asia/Tokyo")
WARSAW = ZoneInfo("Europe/Warsaw")
SAMPLE = Path(__file__).resolve().parents[4] / "docs" / "vendor-sample"


# ---------------------------------------------------------------------------------------------
# Loading


@pytest.mark.parametrize("name", ["template", "hubspot", "salesforce"])
def test_built_in_profiles_load_with_their_text(name):
    # when
    profile = load_profile(name)
    # then
    assert profile.name == name
    assert profile.text.startswith("#")
    assert profile_from_text(profile.text, name).data == profile.data


def test_an_unknown_profile_name_is_refused():
    with pytest.raises(ApplicationError) as refused:
        load_profile("pipedrive")
    assert refused.value.code == PROFILE_UNKNOWN
    assert "pipedrive" in refused.value.message


def test_a_profile_file_is_loaded_by_path(tmp_path):
    # given
    path = tmp_path / "office.yaml"
    path.write_text(load_profile("template").text.replace("name: template", "name: office"), encoding="utf-8")
    # when
    profile = load_profile(str(path))
    # then
    assert profile.name == "office"
    assert profile.text == path.read_text(encoding="utf-8")


def test_a_profile_made_by_name_only_is_read_as_its_built_in(tmp_path):
    # given
    path = template_package(tmp_path / "package")
    # when
    extracted = extract(Profile(name="template"), path)
    # then
    assert extracted.check.counts["listings"] == 3


def test_profile_for_move_in_uses_the_stored_text_before_the_name():
    # given
    stored = load_profile("template").text.replace("vendor: template", "vendor: Kept")
    # when
    kept = profile_for_move_in(MoveIn(profile="template", profile_text=stored))
    by_name = profile_for_move_in(MoveIn(profile="hubspot", profile_text=""))
    # then
    assert kept.vendor == "Kept"
    assert by_name.name == "hubspot"


@pytest.mark.parametrize(("text", "place"), [
    ("entities: [unclosed", "line 1"),
    ("- just\n- a list\n", "the top"),
    ("name: x\ncolour: red\nentities: {agents: {file: a.csv, key: email}}", "colour"),
    ("entities: {agents: {file: a.csv, key: email, fields: {phone: tel}}}", "entities.agents.fields.phone"),
    ("entities: {clients: {file: a.csv, key: id}}", "entities.clients"),
    ("entities: {agents: {file: 3, key: email}}", "entities.agents.file"),
    ("entities: {agents: {file: a.csv}}", "entities.agents.key"),
    ("entities: {listings: {file: l.csv, key: id, fields: {kind: {column: k, map: {Miete: lease}}}}}", "entities.listings.fields.kind.map.Miete"),
    ("entities: {listings: {file: l.csv, key: id, fields: {title: {column: t, map: {a: b}}}}}", "entities.listings.fields.title.map"),
    ("entities: {seekers: {file: s.csv, key: id, fields: {agent: {column: o, lookup: {table: owners, value: Email}}}}}",
     "entities.seekers.fields.agent.lookup.table"),
    ("money_unit: sen\nentities: {agents: {file: a.csv, key: email}}", "money_unit"),
    ("region: Japan\nentities: {agents: {file: a.csv, key: email}}", "region"),
    ("time_zone: Mars/Olympus\nentities: {agents: {file: a.csv, key: email}}", "time_zone"),
    ("entities: {seekers: {file: s.csv, key: {column: id, join: [a, b]}}}", "entities.seekers.key"),
    ("entities: {seekers: {file: s.csv, key: id, fields: {status: {rules: [{column: x, then: archived}]}}}}",
     "entities.seekers.fields.status.rules[0]"),
    ("entities: {seekers: {file: s.csv, key: id, extra_columns: &a [x, x], fields: {phones: [*a, *a]}}}",
     "entities.seekers.fields.phones[0]"),
    ("entities: " + "[" * 5000 + "]" * 5000, "the top"),
])
def test_an_invalid_profile_is_refused_naming_the_place(text, place):
    with pytest.raises(ApplicationError) as refused:
        profile_from_text(text, "office")
    assert refused.value.code == PROFILE_INVALID
    assert f"“office” is not valid at {place}:" in refused.value.message


# ---------------------------------------------------------------------------------------------
# template


@pytest.mark.parametrize("as_zip", [False, True])
def test_template_japanese_package_is_read_record_by_record(tmp_path, as_zip):
    # given
    path = template_package(tmp_path / ("package.zip" if as_zip else "package"), as_zip=as_zip)
    # when
    extracted = extract(load_profile("template"), path)
    # then
    assert (extracted.vendor, extracted.region, extracted.currency) == ("EstiCRM", "JP", "JPY")
    assert extracted.exported_at == datetime.datetime(2026, 11, 30, 9, 0, tzinfo=datetime.UTC)
    assert extracted.check.counts == {"agents": 2, "listings": 3, "seekers": 3, "activities": 3, "links": 3}
    assert extracted.check.is_loadable and extracted.check.problems == {} and extracted.check.unknown_files == []
    listing = extracted.listings[1]
    assert (listing.key, listing.file, listing.row, listing.kind, listing.is_active) == ("L-1002", "listings.csv", 3, "sale", True)
    assert (listing.amount, listing.area_m2, listing.layout, listing.walk_minutes, listing.built_year) == (
        Decimal("58000000"), Decimal("72.10"), "3LDK", 8, 2008)
    assert (listing.city, listing.street, listing.postal_code, listing.agent_key) == ("中野区", "中野区中野4-5-6", "164-0001", "suzuki@demo.example.jp")
    assert listing.cells == JAPANESE["listings.csv"][1]
    assert extracted.listings[2].is_active is False
    seeker = extracted.seekers[0]
    assert (seeker.key, seeker.name, seeker.kana, seeker.emails, seeker.phones) == (
        "S-1", "山田 太郎", "ヤマダ タロウ", ["taro.yamada@example.com"], ["090-1234-5678"])
    assert (seeker.budget_min, seeker.budget_max, seeker.areas, seeker.layouts) == (Decimal("80000"), Decimal("110000"), ["渋谷区", "新宿区"], ["1LDK", "2DK"])
    assert seeker.created_at == datetime.datetime(2026, 10, 1, 12, 0, tzinfo=TOKYO)
    assert extracted.seekers[1].budget_min is None
    assert [(activity.key, activity.kind, activity.seeker_key, activity.listing_key) for activity in extracted.activities] == [
        ("A-1", "call", "S-1", "L-1001"), ("A-2", "mail", "S-1", ""), ("A-3", "visit", "S-3", "L-0901")]
    assert [link.key for link in extracted.links] == ["S-1:L-1001:viewed", "S-2:L-1002:introduced", "S-3:L-0901:offered"]
    assert [agent.key for agent in extracted.agents] == ["sato@demo.example.jp", "suzuki@demo.example.jp"]


def test_template_polish_package_keeps_polish_letters_and_zloty_amounts(tmp_path):
    # given
    path = template_package(tmp_path / "package.zip", POLISH, as_zip=True)
    # when
    extracted = extract(load_profile("template"), path)
    # then
    assert (extracted.region, extracted.currency) == ("PL", "PLN")
    assert [(listing.title, listing.amount, listing.city) for listing in extracted.listings] == [
        ("Mieszkanie 3-pokojowe, Łódź Śródmieście", Decimal("489000.50"), "Łódź"),
        ("Kawalerka do wynajęcia, Kraków Kazimierz", Decimal("2750.00"), "Kraków")]
    seeker = extracted.seekers[0]
    assert (seeker.name, seeker.phones, seeker.budget_max, seeker.areas) == ("Łukasz Żółkiewski", ["+48 601 234 567"], Decimal("520000.75"), ["Łódź", "Zgierz"])
    assert extracted.check.problems == {}


def test_template_problems_unknown_values_missing_keys_and_duplicates(tmp_path):
    # given
    data = json.loads(json.dumps(JAPANESE))
    data["listings.csv"][0].update(price="九万八千", layout="1SLDK", created_at="昨日")
    data["listings.csv"][1].update(status="reserved", walk_minutes="5.5")
    data["listings.csv"][2]["id"] = ""
    data["seekers.csv"].append(dict(data["seekers.csv"][0], phone="0120"))
    data["seekers.csv"][1]["layouts"] = "3LDK;4SLDK;1R;ロフト"
    path = template_package(tmp_path / "package", data)
    # when
    extracted = extract(load_profile("template"), path)
    # then
    check = extracted.check
    first, second, third = extracted.listings
    assert [(problem.field, problem.code, problem.value) for problem in first.problems] == [
        ("amount", "invalid_value", "九万八千"), ("created_at", "invalid_value", "昨日")]
    assert first.amount is None and first.layout == "" and first.extra == {"layout": "1SLDK"}
    assert second.is_active is False and second.extra == {"status": "reserved"}  # unknown status: the archive
    assert second.walk_minutes is None and second.failures[0].field == "walk_minutes"
    assert [(problem.field, problem.code) for problem in third.failures] == [("key", "missing_value")]
    assert check.unknown_values == {"listings.csv": {"layout": {"1SLDK": 1}, "status": {"reserved": 1}},
                                    "seekers.csv": {"layouts": {"4SLDK": 1, "ロフト": 1}}}
    assert (extracted.seekers[1].layouts, extracted.seekers[1].extra) == (["3LDK", "ワンルーム"], {"layouts": "4SLDK;ロフト"})
    assert check.problems == {"listings:amount:invalid_value": 1, "listings:created_at:invalid_value": 1,
                              "listings:walk_minutes:invalid_value": 1, "listings:key:missing_value": 1,
                              "seekers:phones:invalid_phone": 1}
    duplicate = extracted.seekers[-1]
    assert duplicate.key == "S-1" and [problem.is_failure for problem in duplicate.problems] == [False]
    assert check.counts["seekers"] == 4 and check.is_loadable


def test_template_missing_file_and_missing_column_make_it_not_loadable(tmp_path):
    # given
    path = template_package(tmp_path / "package")
    (path / "links.csv").unlink()
    listings = (path / "listings.csv").read_text(encoding="utf-8").replace(",area_m2,", ",floor_area,", 1)
    (path / "listings.csv").write_text(listings, encoding="utf-8")
    (path / "photos.csv").write_text("id\n1\n", encoding="utf-8")
    # when
    extracted = extract(load_profile("template"), path)
    # then
    check = extracted.check
    assert check.missing_files == ["links.csv"]
    assert check.missing_columns == {"listings.csv": ["area_m2"]}
    assert check.unknown_columns == {"listings.csv": ["floor_area"]}
    assert check.unknown_files == ["photos.csv"]
    assert check.is_loadable is False
    assert extracted.listings[0].area_m2 is None and extracted.listings[0].extra == {"floor_area": "35.5"}


def test_template_without_a_valid_manifest_is_unreadable(tmp_path):
    # given
    path = template_package(tmp_path / "package")
    (path / "manifest.json").write_text(json.dumps({"format": "other/2", "vendor": "X", "region": "JP", "currency": "JPY"}))
    # when / then
    with pytest.raises(ApplicationError) as refused:
        extract(load_profile("template"), path)
    assert refused.value.code == PACKAGE_UNREADABLE
    assert refused.value.message == "manifest.json: the manifest is not of the format estatecrm-vendor/1."


def test_the_sample_package_in_docs_is_read_without_a_problem(tmp_path):
    # when
    extracted = extract(load_profile("template"), SAMPLE)
    # then
    check = extracted.check
    assert check.is_loadable and check.problems == {} and check.unknown_values == {} and check.unknown_files == []
    assert check.unknown_columns == {}
    assert check.counts == {"agents": 4, "listings": 10, "seekers": 10, "activities": 12, "links": 10}
    listing_keys = {listing.key for listing in extracted.listings}
    seeker_keys = {seeker.key for seeker in extracted.seekers}
    agent_keys = {agent.key for agent in extracted.agents}
    assert all(activity.seeker_key in seeker_keys and activity.listing_key in listing_keys | {""} for activity in extracted.activities)
    assert all(link.seeker_key in seeker_keys and link.listing_key in listing_keys for link in extracted.links)
    assert {listing.agent_key for listing in extracted.listings} <= agent_keys
    assert {listing.is_active for listing in extracted.listings} == {True, False}
    # the same package as a ZIP
    archive = shutil.make_archive(str(tmp_path / "sample"), "zip", SAMPLE)
    assert extract(load_profile("template"), archive).check.counts == check.counts


# ---------------------------------------------------------------------------------------------
# hubspot


def test_hubspot_japanese_export(tmp_path):
    # given
    path = hubspot_package(tmp_path / "hubspot.zip", as_zip=True)
    # when
    extracted = extract(load_profile("hubspot"), path)
    # then
    check = extracted.check
    assert (extracted.vendor, extracted.region, extracted.currency) == ("HubSpot", "JP", "JPY")
    assert check.counts == {"agents": 2, "listings": 0, "seekers": 3, "activities": 3, "links": 0}
    assert check.files == {"contacts.csv": "seekers", "deals.csv": "activities", "notes.csv": "activities", "owners.csv": "agents"}
    assert [(agent.key, agent.email, agent.name) for agent in extracted.agents] == [
        ("sato@demo.example.jp", "sato@demo.example.jp", "佐藤 花子"), ("suzuki@demo.example.jp", "suzuki@demo.example.jp", "鈴木 一郎")]
    taro, misaki, ken = extracted.seekers
    assert (taro.key, taro.name, taro.phones, taro.is_active, taro.status_text) == (
        "101", "山田 太郎", ["03-5555-1234", "090-1234-5678"], True, "lead / NEW")
    assert (taro.prefecture, taro.city, taro.street, taro.postal_code) == ("東京都", "渋谷区", "渋谷区代々木1-2-3", "151-0053")
    assert taro.agent_key == "sato@demo.example.jp"  # "佐藤 花子" names the owner Last First
    assert taro.created_at == datetime.datetime(2026, 10, 1, 12, 0, tzinfo=TOKYO)
    assert taro.extra == {"Country/Region": "Japan"}
    assert (misaki.is_active, misaki.agent_key, misaki.prefecture) == (False, "suzuki@demo.example.jp", "東京都")  # customer
    assert (ken.is_active, ken.agent_key, ken.extra) == (False, "", {"Contact owner": "田中 次郎"})  # UNQUALIFIED, unknown owner
    assert check.unknown_values == {"contacts.csv": {"Contact owner": {"田中 次郎": 1}}}
    assert check.problems == {"seekers:phones:invalid_phone": 1}
    deal, big_deal, note = extracted.activities
    assert (deal.key, deal.kind, deal.subject, deal.seeker_key, deal.agent_key) == (
        "deal:501", "note", "Deal: メゾン代々木 203 賃貸", "101", "sato@demo.example.jp")
    assert deal.text == ("Deal Name: メゾン代々木 203 賃貸\nDeal Stage: appointmentscheduled\nAmount: 98,000\nPipeline: default\n"
                         "Close Date: 2026-10-31\nDeal owner: 佐藤 花子\nAssociated Contact IDs: 101;102")
    assert "Amount: 5800万円" in big_deal.text
    assert (note.key, note.seeker_key, note.text, note.at) == (
        "note:701", "101", "内見希望。土曜午前。", datetime.datetime(2026, 10, 2, 10, 0, tzinfo=TOKYO))


def test_hubspot_polish_export_with_region_and_currency_given(tmp_path):
    # given
    path = hubspot_package(tmp_path / "hubspot", HUBSPOT_POLISH)
    # when
    extracted = extract(load_profile("hubspot"), path, region="PL", currency="PLN")
    # then
    assert (extracted.region, extracted.currency) == ("PL", "PLN")
    lukasz, malgorzata = extracted.seekers
    assert (lukasz.name, lukasz.phones, lukasz.city, lukasz.street, lukasz.prefecture) == (
        "Łukasz Żółkiewski", ["+48 601 234 567"], "Łódź", "ul. Piotrkowska 120/4", "łódzkie")
    assert lukasz.created_at == datetime.datetime(2026, 10, 5, 10, 15, tzinfo=WARSAW)
    assert lukasz.agent_key == "agnieszka.wojcik@biuro.example.pl"
    assert (malgorzata.name, malgorzata.is_active, malgorzata.phones) == ("Małgorzata Ściegienna", False, ["22 628 12 34", "+48 512 345 678"])
    assert extracted.check.problems == {}
    deal = extracted.activities[0]
    assert deal.subject == "Deal: Sprzedaż mieszkania, Łódź Śródmieście"
    assert "Amount: 1 250 000,50 zł" in deal.text
    assert extracted.activities[1].seeker_key == "9001"


def test_hubspot_without_contacts_is_not_loadable_but_deals_and_notes_are_optional(tmp_path):
    # given
    data = {"owners.csv": HUBSPOT_POLISH["owners.csv"]}
    path = hubspot_package(tmp_path / "hubspot", data)
    # when
    check = extract(load_profile("hubspot"), path).check
    # then
    assert check.missing_files == ["contacts.csv | contacts.xlsx"]
    assert check.is_loadable is False


def test_hubspot_contacts_exported_as_xlsx(tmp_path):
    # given: HubSpot's default export format, with a real date cell
    path = hubspot_package(tmp_path / "hubspot", {"owners.csv": HUBSPOT_JAPANESE["owners.csv"]})
    workbook = xlsxwriter.Workbook(str(path / "contacts.xlsx"))
    sheet = workbook.add_worksheet("Contacts")
    header = HUBSPOT_COLUMNS["contacts.csv"]
    sheet.write_row(0, 0, header)
    for row_number, contact in enumerate(HUBSPOT_JAPANESE["contacts.csv"], start=1):
        sheet.write_row(row_number, 0, [contact[column] for column in header])
    sheet.write_datetime(1, header.index("Create Date"), datetime.datetime(2026, 10, 1, 12, 0), workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"}))
    workbook.close()
    # when
    extracted = extract(load_profile("hubspot"), path)
    # then
    assert extracted.check.files == {"contacts.xlsx": "seekers", "owners.csv": "agents"}
    assert [(seeker.key, seeker.row, seeker.name, seeker.agent_key) for seeker in extracted.seekers] == [
        ("101", 2, "山田 太郎", "sato@demo.example.jp"), ("102", 3, "高橋 美咲", "suzuki@demo.example.jp"), ("103", 4, "伊藤 健", "")]
    assert extracted.seekers[0].created_at == datetime.datetime(2026, 10, 1, 12, 0, tzinfo=TOKYO)


# ---------------------------------------------------------------------------------------------
# salesforce


def test_salesforce_japanese_export(tmp_path):
    # given
    path = salesforce_package(tmp_path / "salesforce.zip", as_zip=True)
    # when
    extracted = extract(load_profile("salesforce"), path)
    # then
    check = extracted.check
    assert check.counts == {"agents": 2, "listings": 0, "seekers": 2, "activities": 3, "links": 0}
    assert check.files == {"Account.csv": "accounts", "Contact.csv": "seekers", "Task.csv": "activities", "User.csv": "agents"}
    assert check.problems == {} and check.unknown_values == {} and check.is_loadable
    assert [(agent.key, agent.email, agent.name) for agent in extracted.agents] == [
        ("0055g00000A1xyzAAA", "sato@demo.example.jp", "佐藤 花子"), ("0055g00000A2xyzAAA", "suzuki@demo.example.jp", "鈴木 一郎")]
    taro, misaki = extracted.seekers
    assert (taro.name, taro.employer, taro.agent_key, taro.is_active) == ("山田 太郎", "株式会社サンプル商事", "0055g00000A1xyzAAA", True)
    assert (taro.prefecture, taro.city, taro.street) == ("東京都", "渋谷区", "代々木1-2-3")
    assert taro.created_at == datetime.datetime(2024, 3, 5, 10, 15, tzinfo=datetime.UTC)
    assert taro.extra == {"MailingCountry": "日本", "LeadSource": "Web", "Description": "駅近希望"}
    assert misaki.is_active is False  # IsDeleted
    assert [(task.kind, task.seeker_key, task.subject) for task in extracted.activities] == [
        ("call", "0035g00000C1defAAA", "電話: 内見日程"), ("mail", "0035g00000C1defAAA", "候補物件送付"), ("note", "0035g00000C2defAAA", "来店")]
    assert extracted.activities[0].at == datetime.datetime(2024, 3, 6, 0, 0, tzinfo=TOKYO)
    assert extracted.activities[1].at == datetime.datetime(2024, 3, 7, 9, 30, tzinfo=datetime.UTC)  # no ActivityDate: CreatedDate


def test_salesforce_polish_export(tmp_path):
    # given
    path = salesforce_package(tmp_path / "salesforce", SALESFORCE_POLISH)
    # when
    extracted = extract(load_profile("salesforce"), path, region="PL", currency="PLN")
    # then
    seeker = extracted.seekers[0]
    assert (seeker.name, seeker.employer, seeker.phones) == ("Łukasz Żółkiewski", "Przedsiębiorstwo Łączność Sp. z o.o.", ["+48 601 234 567"])
    assert extracted.agents[0].name == "Agnieszka Wójcik"
    assert extracted.activities[0].at == datetime.datetime(2026, 10, 6, 0, 0, tzinfo=WARSAW)
    assert extracted.check.problems == {}


# ---------------------------------------------------------------------------------------------
# A profile of one's own


OFFICE_PROFILE = """
name: biuro
vendor: BiuroCRM
region: PL
currency: PLN
money_unit: major
date_formats: ["%d.%m.%Y"]
entities:
  agents:
    file: agenci.csv
    key: {column: mail, lower: true}
    fields: {email: mail, name: {join: [imie, nazwisko]}}
  listings:
    file: oferty.json
    records: data.oferty
    key: numer
    fields:
      title: tytul
      kind: {column: transakcja, map: {sprzedaz: sale, wynajem: rent}}
      status: {column: stan, map: {aktualna: active, nieaktualna: archived, zarezerwowana: active}}
      amount: cena
      area_m2: metraz
      layout: {column: pokoje, map: {"1": ワンルーム, "2": 1LDK, "3": 2LDK}}
      city: miasto
      agent: {column: opiekun, lower: true}
      created_at: dodano
    extra_columns: [zdjecia]
  seekers:
    file: klienci.csv
    delimiter: ";"
    key: id
    fields:
      name: {person: {first: imie, last: nazwisko}}
      phones: {columns: [telefon, komorka]}
      emails: {column: maile, split: ","}
      kind: {column: cel, map: {kupno: buy, najem: rent}}
      budget_max: budzet
      areas: {column: dzielnice, split: "|"}
"""


def test_a_profile_file_reads_json_and_semicolon_csv_with_maps(tmp_path):
    # given
    profile_path = tmp_path / "biuro.yaml"
    profile_path.write_text(OFFICE_PROFILE, encoding="utf-8")
    package = tmp_path / "eksport"
    package.mkdir()
    (package / "agenci.csv").write_text("mail,imie,nazwisko\nAgnieszka.Wojcik@Biuro.example.pl,Agnieszka,Wójcik\n", encoding="utf-8")
    (package / "oferty.json").write_text(json.dumps({"data": {"oferty": [
        {"numer": 17, "tytul": "Mieszkanie, Łódź", "transakcja": "sprzedaz", "stan": "aktualna", "cena": "1 250 000,50 zł",
         "metraz": "61,4", "pokoje": "3", "miasto": "Łódź", "opiekun": "AGNIESZKA.WOJCIK@BIURO.EXAMPLE.PL", "dodano": "01.10.2026",
         "zdjecia": ["a.jpg", "b.jpg"]},
        {"numer": 18, "tytul": "Kawalerka", "transakcja": "dzierzawa", "stan": "wycofana", "cena": 2750, "metraz": None, "pokoje": "5LDK",
         "miasto": "Kraków", "opiekun": "", "dodano": "2026-10-10", "pietro": 3},
    ]}}, ensure_ascii=False), encoding="utf-8")
    (package / "klienci.csv").write_text("id;imie;nazwisko;telefon;komorka;maile;cel;budzet;dzielnice\n"
                                         "K1;Łukasz;Żółkiewski;+48 601 234 567;;a@example.pl, b@example.pl;kupno;520 000,75;Bałuty|Widzew\n",
                                         encoding="utf-8")
    # when
    extracted = extract(load_profile(str(profile_path)), package)
    # then
    check = extracted.check
    assert (extracted.vendor, extracted.region, extracted.currency) == ("BiuroCRM", "PL", "PLN")
    assert extracted.agents[0].key == "agnieszka.wojcik@biuro.example.pl"
    assert extracted.agents[0].name == "Agnieszka Wójcik"
    first, second = extracted.listings
    assert (first.key, first.row, first.kind, first.is_active, first.amount, first.area_m2, first.layout, first.agent_key) == (
        "17", 1, "sale", True, Decimal("1250000.50"), Decimal("61.4"), "2LDK", "agnieszka.wojcik@biuro.example.pl")
    assert first.created_at == datetime.datetime(2026, 10, 1, 0, 0, tzinfo=WARSAW)
    assert first.extra == {"zdjecia": '["a.jpg", "b.jpg"]'}
    assert (second.row, second.kind, second.is_active, second.amount, second.layout) == (2, "rent", False, Decimal("2750"), "5K以上")
    assert second.extra == {"transakcja": "dzierzawa", "stan": "wycofana", "pietro": "3"}
    assert check.unknown_values == {"oferty.json": {"transakcja": {"dzierzawa": 1}, "stan": {"wycofana": 1}}}
    assert check.unknown_columns == {"oferty.json": ["pietro"]}
    seeker = extracted.seekers[0]
    assert (seeker.name, seeker.phones, seeker.emails, seeker.kind, seeker.budget_max, seeker.areas) == (
        "Łukasz Żółkiewski", ["+48 601 234 567"], ["a@example.pl", "b@example.pl"], "buy", Decimal("520000.75"), ["Bałuty", "Widzew"])
    assert check.missing_files == []  # no activities or links in this profile
    assert check.counts == {"agents": 1, "listings": 2, "seekers": 1, "activities": 0, "links": 0}


def test_a_json_member_that_is_not_a_list_of_records_is_unreadable(tmp_path):
    # given
    profile = profile_from_text("entities: {listings: {file: oferty.json, key: numer}}", "x")
    package = tmp_path / "eksport"
    package.mkdir()
    (package / "oferty.json").write_text('{"oferty": 5}', encoding="utf-8")
    # when / then
    with pytest.raises(ApplicationError) as refused:
        extract(profile, package)
    assert refused.value.code == PACKAGE_UNREADABLE
    assert refused.value.message == "oferty.json: the file is not a list of records (objects)."


def test_man_yen_amounts_and_cp932_csv(tmp_path):
    # given: a Japanese desktop CRM's listing file in 万円, saved by Excel as CP932
    profile = profile_from_text("""
vendor: 賃貸名人
region: JP
currency: JPY
money_unit: man_yen
entities:
  listings:
    file: 物件.csv
    key: 物件番号
    fields: {title: 物件名, amount: 賃料, status: {column: 状態, map: {公開中: active, 成約済: archived}}, address: 所在地}
""", "chintai")
    package = tmp_path / "export"
    package.mkdir()
    (package / "物件.csv").write_bytes("物件番号,物件名,賃料,状態,所在地\r\n1,コーポ高円寺,9.8,公開中,東京都杉並区高円寺南3-1-1\r\n"
                                       "2,メゾン初台,12,成約済,渋谷区初台1-33-5\r\n3,ハイツ幡ヶ谷,\"85,000円\",公開中,\r\n".encode("cp932"))
    # when
    extracted = extract(profile, package)
    # then
    assert [(listing.key, listing.amount, listing.is_active) for listing in extracted.listings] == [
        ("1", Decimal("98000.0"), True), ("2", Decimal("120000"), False), ("3", Decimal("85000"), True)]
    assert (extracted.listings[0].prefecture, extracted.listings[0].street) == ("東京都", "杉並区高円寺南3-1-1")
    assert extracted.check.problems == {} and extracted.check.is_loadable


def test_an_unreadable_member_stops_the_extraction_naming_the_member_and_line(tmp_path):
    # given
    path = template_package(tmp_path / "package")
    seekers = (path / "seekers.csv").read_bytes()
    (path / "seekers.csv").write_bytes(seekers * 10 + b'S-99,"unclosed,\n' + seekers.split(b"\n", 1)[1] * 3)
    # when / then
    with pytest.raises(ApplicationError) as refused:
        extract(load_profile("template"), path)
    assert refused.value.code == PACKAGE_UNREADABLE
    assert refused.value.message.startswith("seekers.csv: Line 41 opens a quoted cell that is not closed")
