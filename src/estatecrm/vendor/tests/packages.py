"""Packages for the tests, written as real files (a folder or a ZIP) in a vendor's layout.

`template_package(path, ...)` writes our own template format (docs/vendor-migration.md). The default data
is a small Japanese office; `POLISH` is a Polish one (zł with decimal commas in its own profile's tests,
+48 phones, Polish letters). `hubspot_package` (HUBSPOT_JAPANESE, HUBSPOT_POLISH) and `salesforce_package`
(SALESFORCE_JAPANESE, SALESFORCE_POLISH) write those vendors' exports with their own headers; the Polish
ones are read with region PL and currency PLN (`extract(..., region="PL", currency="PLN")`).
"""

import csv
import io
import json
import zipfile
from pathlib import Path

TEMPLATE_COLUMNS = {
    "agents.csv": ["email", "name", "unit"],
    "listings.csv": ["id", "title", "kind", "status", "price", "address", "postal_code", "city", "layout", "area_m2", "station",
                     "walk_minutes", "built_year", "agent_email", "created_at", "updated_at"],
    "seekers.csv": ["id", "name", "kana", "email", "phone", "kind", "status", "budget_min", "budget_max", "areas", "layouts",
                    "agent_email", "created_at"],
    "activities.csv": ["id", "seeker_id", "listing_id", "kind", "at", "text", "agent_email"],
    "links.csv": ["seeker_id", "listing_id", "kind", "at"],
}

JAPANESE = {
    "manifest": {"format": "estatecrm-vendor/1", "vendor": "EstiCRM", "region": "JP", "currency": "JPY",
                 "exported_at": "2026-11-30T18:00:00+09:00"},
    "agents.csv": [
        {"email": "sato@demo.example.jp", "name": "佐藤 花子", "unit": ""},
        {"email": "suzuki@demo.example.jp", "name": "鈴木 一郎", "unit": ""},
    ],
    "listings.csv": [
        {"id": "L-1001", "title": "メゾン代々木 203", "kind": "rent", "status": "active", "price": "98000", "address": "渋谷区代々木1-2-3",
         "postal_code": "151-0053", "city": "渋谷区", "layout": "1LDK", "area_m2": "35.5", "station": "代々木", "walk_minutes": "5",
         "built_year": "2015", "agent_email": "sato@demo.example.jp", "created_at": "2026-09-01T10:00:00+09:00",
         "updated_at": "2026-11-20T09:30:00+09:00"},
        {"id": "L-1002", "title": "パークハウス中野 701", "kind": "sale", "status": "active", "price": "58000000",
         "address": "中野区中野4-5-6", "postal_code": "164-0001", "city": "中野区", "layout": "3LDK", "area_m2": "72.10",
         "station": "中野", "walk_minutes": "8", "built_year": "2008", "agent_email": "suzuki@demo.example.jp",
         "created_at": "2026-08-15T11:00:00+09:00", "updated_at": "2026-11-01T15:00:00+09:00"},
        {"id": "L-0901", "title": "コーポ高円寺 102", "kind": "rent", "status": "archived", "price": "72000", "address": "杉並区高円寺南3-1-1",
         "postal_code": "166-0003", "city": "杉並区", "layout": "1K", "area_m2": "22", "station": "高円寺", "walk_minutes": "4",
         "built_year": "1998", "agent_email": "sato@demo.example.jp", "created_at": "2025-04-01T10:00:00+09:00",
         "updated_at": "2025-06-30T10:00:00+09:00"},
    ],
    "seekers.csv": [
        {"id": "S-1", "name": "山田 太郎", "kana": "ヤマダ タロウ", "email": "taro.yamada@example.com", "phone": "090-1234-5678",
         "kind": "rent", "status": "active", "budget_min": "80000", "budget_max": "110000", "areas": "渋谷区;新宿区",
         "layouts": "1LDK;2DK", "agent_email": "sato@demo.example.jp", "created_at": "2026-10-01T12:00:00+09:00"},
        {"id": "S-2", "name": "高橋 美咲", "kana": "タカハシ ミサキ", "email": "misaki@example.jp", "phone": "03-5555-1234",
         "kind": "buy", "status": "active", "budget_min": "", "budget_max": "60000000", "areas": "中野区",
         "layouts": "3LDK", "agent_email": "suzuki@demo.example.jp", "created_at": "2026-09-20T12:00:00+09:00"},
        {"id": "S-3", "name": "伊藤 健", "kana": "イトウ ケン", "email": "", "phone": "080-9876-5432", "kind": "rent",
         "status": "archived", "budget_min": "60000", "budget_max": "75000", "areas": "杉並区", "layouts": "1K",
         "agent_email": "sato@demo.example.jp", "created_at": "2025-03-10T12:00:00+09:00"},
    ],
    "activities.csv": [
        {"id": "A-1", "seeker_id": "S-1", "listing_id": "L-1001", "kind": "call", "at": "2026-10-02T10:00:00+09:00",
         "text": "内見希望。土曜午前。", "agent_email": "sato@demo.example.jp"},
        {"id": "A-2", "seeker_id": "S-1", "listing_id": "", "kind": "mail", "at": "2026-10-03T18:00:00+09:00",
         "text": "候補物件を3件送付", "agent_email": "sato@demo.example.jp"},
        {"id": "A-3", "seeker_id": "S-3", "listing_id": "L-0901", "kind": "visit", "at": "2025-03-15T14:00:00+09:00",
         "text": "来店。即決せず。", "agent_email": "sato@demo.example.jp"},
    ],
    "links.csv": [
        {"seeker_id": "S-1", "listing_id": "L-1001", "kind": "viewed", "at": "2026-10-05T11:00:00+09:00"},
        {"seeker_id": "S-2", "listing_id": "L-1002", "kind": "introduced", "at": "2026-09-25T11:00:00+09:00"},
        {"seeker_id": "S-3", "listing_id": "L-0901", "kind": "offered", "at": "2025-03-20T11:00:00+09:00"},
    ],
}

POLISH = {
    "manifest": {"format": "estatecrm-vendor/1", "vendor": "EstiCRM", "region": "PL", "currency": "PLN",
                 "exported_at": "2026-11-30T18:00:00+01:00"},
    "agents.csv": [{"email": "agnieszka.wojcik@biuro.example.pl", "name": "Agnieszka Wójcik", "unit": ""}],
    "listings.csv": [
        {"id": "OF-17", "title": "Mieszkanie 3-pokojowe, Łódź Śródmieście", "kind": "sale", "status": "active", "price": "489000.50",
         "address": "ul. Piotrkowska 120/4", "postal_code": "90-006", "city": "Łódź", "layout": "", "area_m2": "61.40",
         "station": "", "walk_minutes": "", "built_year": "1936", "agent_email": "agnieszka.wojcik@biuro.example.pl",
         "created_at": "2026-10-01T09:00:00+02:00", "updated_at": "2026-11-02T09:00:00+01:00"},
        {"id": "OF-18", "title": "Kawalerka do wynajęcia, Kraków Kazimierz", "kind": "rent", "status": "active", "price": "2750.00",
         "address": "ul. Józefa 12", "postal_code": "31-056", "city": "Kraków", "layout": "", "area_m2": "28",
         "station": "", "walk_minutes": "", "built_year": "", "agent_email": "agnieszka.wojcik@biuro.example.pl",
         "created_at": "2026-10-10T09:00:00+02:00", "updated_at": "2026-10-10T09:00:00+02:00"},
    ],
    "seekers.csv": [
        {"id": "P-1", "name": "Łukasz Żółkiewski", "kana": "", "email": "lukasz.z@example.pl", "phone": "+48 601 234 567",
         "kind": "buy", "status": "active", "budget_min": "400000", "budget_max": "520000.75", "areas": "Łódź;Zgierz",
         "layouts": "", "agent_email": "agnieszka.wojcik@biuro.example.pl", "created_at": "2026-10-05T10:00:00+02:00"},
        {"id": "P-2", "name": "Małgorzata Ściegienna", "kana": "", "email": "", "phone": "22 628 12 34", "kind": "rent",
         "status": "archived", "budget_min": "2000", "budget_max": "3000", "areas": "Kraków", "layouts": "",
         "agent_email": "agnieszka.wojcik@biuro.example.pl", "created_at": "2025-02-01T10:00:00+01:00"},
    ],
    "activities.csv": [
        {"id": "PA-1", "seeker_id": "P-1", "listing_id": "OF-17", "kind": "visit", "at": "2026-10-12T16:00:00+02:00",
         "text": "Oglądanie mieszkania, klient zainteresowany.", "agent_email": "agnieszka.wojcik@biuro.example.pl"},
    ],
    "links.csv": [{"seeker_id": "P-1", "listing_id": "OF-17", "kind": "viewed", "at": "2026-10-12T16:00:00+02:00"}],
}


def template_package(path: Path, data: dict | None = None, *, as_zip: bool = False) -> Path:
    """Write `data` (JAPANESE by default; a dict of member -> rows, and "manifest") as a template package:
    a folder at `path`, or `path` as a ZIP file. Returns the package's path."""
    data = JAPANESE if data is None else data
    members: dict[str, str] = {"manifest.json": json.dumps(data["manifest"], ensure_ascii=False, indent=2)}
    for member, columns in TEMPLATE_COLUMNS.items():
        rows = data.get(member, [])
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        members[member] = buffer.getvalue()
    path = Path(path)
    if as_zip:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for member, text in members.items():
                archive.writestr(member, text)
        return path
    path.mkdir(parents=True, exist_ok=True)
    for member, text in members.items():
        (path / member).write_text(text, encoding="utf-8")
    return path


def write_package(path: Path, members: dict[str, str], *, as_zip: bool) -> Path:
    """Write members (name -> text) as a folder at `path`, or `path` as a ZIP file."""
    path = Path(path)
    if as_zip:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for member, text in members.items():
                archive.writestr(member, text)
        return path
    path.mkdir(parents=True, exist_ok=True)
    for member, text in members.items():
        (path / member).write_text(text, encoding="utf-8")
    return path


def csv_members(columns: dict[str, list[str]], data: dict) -> dict[str, str]:
    members = {}
    for member, header in columns.items():
        if member not in data:
            continue
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(data[member])
        members[member] = buffer.getvalue()
    return members


# ---------------------------------------------------------------------------------------------
# HubSpot: a CRM export with HubSpot's own headers (docs/vendor-migration.md). Contacts are seekers,
# owners agents, deals and notes activities. `HUBSPOT_POLISH` is read with region PL / currency PLN.

HUBSPOT_COLUMNS = {
    "contacts.csv": ["Record ID", "First Name", "Last Name", "Email", "Phone Number", "Mobile Phone Number", "Street Address", "City",
                     "State/Region", "Postal Code", "Country/Region", "Lifecycle Stage", "Lead Status", "Contact owner", "Create Date"],
    "deals.csv": ["Record ID", "Deal Name", "Deal Stage", "Amount", "Close Date", "Create Date", "Deal owner", "Pipeline",
                  "Associated Contact IDs"],
    "notes.csv": ["Record ID", "Note body", "Create Date", "Associated Contact IDs"],
    "owners.csv": ["Email", "First Name", "Last Name"],
}

HUBSPOT_JAPANESE = {
    "owners.csv": [
        {"Email": "Sato@demo.example.jp", "First Name": "花子", "Last Name": "佐藤"},
        {"Email": "suzuki@demo.example.jp", "First Name": "一郎", "Last Name": "鈴木"},
    ],
    "contacts.csv": [
        {"Record ID": "101", "First Name": "太郎", "Last Name": "山田", "Email": "taro.yamada@example.com", "Phone Number": "03-5555-1234",
         "Mobile Phone Number": "090-1234-5678", "Street Address": "東京都渋谷区代々木1-2-3", "City": "渋谷区", "State/Region": "東京",
         "Postal Code": "151-0053", "Country/Region": "Japan", "Lifecycle Stage": "lead", "Lead Status": "NEW",
         "Contact owner": "佐藤 花子", "Create Date": "2026-10-01 12:00"},
        {"Record ID": "102", "First Name": "美咲", "Last Name": "高橋", "Email": "misaki@example.jp", "Phone Number": "",
         "Mobile Phone Number": "080-2222-3333", "Street Address": "中野4-5-6", "City": "中野区", "State/Region": "東京都",
         "Postal Code": "164-0001", "Country/Region": "Japan", "Lifecycle Stage": "customer", "Lead Status": "",
         "Contact owner": "一郎 鈴木", "Create Date": "2025-09-20 09:30"},
        {"Record ID": "103", "First Name": "健", "Last Name": "伊藤", "Email": "", "Phone Number": "12345", "Mobile Phone Number": "",
         "Street Address": "", "City": "", "State/Region": "", "Postal Code": "", "Country/Region": "", "Lifecycle Stage": "opportunity",
         "Lead Status": "UNQUALIFIED", "Contact owner": "田中 次郎", "Create Date": "2026/03/10"},
    ],
    "deals.csv": [
        {"Record ID": "501", "Deal Name": "メゾン代々木 203 賃貸", "Deal Stage": "appointmentscheduled", "Amount": "98,000",
         "Close Date": "2026-10-31", "Create Date": "2026-10-05 10:00", "Deal owner": "佐藤 花子", "Pipeline": "default",
         "Associated Contact IDs": "101;102"},
        {"Record ID": "502", "Deal Name": "パークハウス中野 701 売買", "Deal Stage": "closedwon", "Amount": "5800万円",
         "Close Date": "2025-12-20", "Create Date": "2025-10-01 15:00", "Deal owner": "鈴木 一郎", "Pipeline": "売買",
         "Associated Contact IDs": "102"},
    ],
    "notes.csv": [
        {"Record ID": "701", "Note body": "内見希望。土曜午前。", "Create Date": "2026-10-02 10:00", "Associated Contact IDs": "101"},
    ],
}

HUBSPOT_POLISH = {
    "owners.csv": [{"Email": "agnieszka.wojcik@biuro.example.pl", "First Name": "Agnieszka", "Last Name": "Wójcik"}],
    "contacts.csv": [
        {"Record ID": "9001", "First Name": "Łukasz", "Last Name": "Żółkiewski", "Email": "lukasz.z@example.pl",
         "Phone Number": "+48 601 234 567", "Mobile Phone Number": "", "Street Address": "ul. Piotrkowska 120/4", "City": "Łódź",
         "State/Region": "łódzkie", "Postal Code": "90-006", "Country/Region": "Polska", "Lifecycle Stage": "salesqualifiedlead",
         "Lead Status": "IN_PROGRESS", "Contact owner": "Agnieszka Wójcik", "Create Date": "05.10.2026 10:15"},
        {"Record ID": "9002", "First Name": "Małgorzata", "Last Name": "Ściegienna", "Email": "m.sciegienna@example.pl",
         "Phone Number": "22 628 12 34", "Mobile Phone Number": "+48 512 345 678", "Street Address": "ul. Józefa 12", "City": "Kraków",
         "State/Region": "małopolskie", "Postal Code": "31-056", "Country/Region": "Polska", "Lifecycle Stage": "other",
         "Lead Status": "", "Contact owner": "Agnieszka Wójcik", "Create Date": "01.02.2025 09:00"},
    ],
    "deals.csv": [
        {"Record ID": "7001", "Deal Name": "Sprzedaż mieszkania, Łódź Śródmieście", "Deal Stage": "contractsent",
         "Amount": "1 250 000,50 zł", "Close Date": "30.11.2026", "Create Date": "12.10.2026 16:00", "Deal owner": "Agnieszka Wójcik",
         "Pipeline": "Sprzedaż", "Associated Contact IDs": "9001"},
    ],
    "notes.csv": [
        {"Record ID": "8001", "Note body": "Klient zainteresowany, prosi o oględziny w sobotę.", "Create Date": "13.10.2026 09:30",
         "Associated Contact IDs": "9001;9002"},
    ],
}


def hubspot_package(path: Path, data: dict | None = None, *, as_zip: bool = False) -> Path:
    """Write a HubSpot export (HUBSPOT_JAPANESE by default; member -> rows) as a folder or a ZIP file."""
    return write_package(path, csv_members(HUBSPOT_COLUMNS, HUBSPOT_JAPANESE if data is None else data), as_zip=as_zip)


# ---------------------------------------------------------------------------------------------
# Salesforce: a data export with Salesforce's API field names. Users are agents (keyed by Id),
# contacts seekers (their Account's name is the employer), tasks activities.

SALESFORCE_COLUMNS = {
    "User.csv": ["Id", "Username", "Email", "FirstName", "LastName", "IsActive"],
    "Account.csv": ["Id", "Name", "Phone", "BillingCity"],
    "Contact.csv": ["Id", "IsDeleted", "AccountId", "FirstName", "LastName", "Email", "Phone", "MobilePhone", "MailingStreet",
                    "MailingCity", "MailingState", "MailingPostalCode", "MailingCountry", "OwnerId", "LeadSource", "Description",
                    "CreatedDate"],
    "Task.csv": ["Id", "WhoId", "WhatId", "Subject", "Description", "ActivityDate", "Status", "TaskSubtype", "Type", "OwnerId",
                 "CreatedDate"],
}

SALESFORCE_JAPANESE = {
    "User.csv": [
        {"Id": "0055g00000A1xyzAAA", "Username": "sato@demo.example.jp.crm", "Email": "sato@demo.example.jp", "FirstName": "花子",
         "LastName": "佐藤", "IsActive": "true"},
        {"Id": "0055g00000A2xyzAAA", "Username": "suzuki@demo.example.jp.crm", "Email": "suzuki@demo.example.jp", "FirstName": "一郎",
         "LastName": "鈴木", "IsActive": "false"},
    ],
    "Account.csv": [{"Id": "0015g00000B1abcAAA", "Name": "株式会社サンプル商事", "Phone": "03-1111-2222", "BillingCity": "港区"}],
    "Contact.csv": [
        {"Id": "0035g00000C1defAAA", "IsDeleted": "false", "AccountId": "0015g00000B1abcAAA", "FirstName": "太郎", "LastName": "山田",
         "Email": "taro.yamada@example.com", "Phone": "03-5555-1234", "MobilePhone": "090-1234-5678", "MailingStreet": "代々木1-2-3",
         "MailingCity": "渋谷区", "MailingState": "東京都", "MailingPostalCode": "151-0053", "MailingCountry": "日本",
         "OwnerId": "0055g00000A1xyzAAA", "LeadSource": "Web", "Description": "駅近希望", "CreatedDate": "2024-03-05T10:15:00.000+0000"},
        {"Id": "0035g00000C2defAAA", "IsDeleted": "true", "AccountId": "", "FirstName": "美咲", "LastName": "高橋", "Email": "misaki@example.jp",
         "Phone": "", "MobilePhone": "080-2222-3333", "MailingStreet": "", "MailingCity": "", "MailingState": "", "MailingPostalCode": "",
         "MailingCountry": "", "OwnerId": "0055g00000A2xyzAAA", "LeadSource": "", "Description": "", "CreatedDate": "2023-11-20T01:00:00.000+0000"},
    ],
    "Task.csv": [
        {"Id": "00T5g00000D1ghiAAA", "WhoId": "0035g00000C1defAAA", "WhatId": "", "Subject": "電話: 内見日程", "Description": "土曜午前で調整",
         "ActivityDate": "2024-03-06", "Status": "Completed", "TaskSubtype": "Call", "Type": "Call", "OwnerId": "0055g00000A1xyzAAA",
         "CreatedDate": "2024-03-06T01:00:00.000+0000"},
        {"Id": "00T5g00000D2ghiAAA", "WhoId": "0035g00000C1defAAA", "WhatId": "", "Subject": "候補物件送付", "Description": "3件送付",
         "ActivityDate": "", "Status": "Completed", "TaskSubtype": "Email", "Type": "", "OwnerId": "0055g00000A1xyzAAA",
         "CreatedDate": "2024-03-07T09:30:00.000+0000"},
        {"Id": "00T5g00000D3ghiAAA", "WhoId": "0035g00000C2defAAA", "WhatId": "", "Subject": "来店", "Description": "",
         "ActivityDate": "2023-12-01", "Status": "Completed", "TaskSubtype": "Task", "Type": "Meeting", "OwnerId": "0055g00000A2xyzAAA",
         "CreatedDate": "2023-12-01T05:00:00.000+0000"},
    ],
}

SALESFORCE_POLISH = {
    "User.csv": [{"Id": "0057Q00000P1plAAA", "Username": "agnieszka@biuro.example.pl", "Email": "agnieszka.wojcik@biuro.example.pl",
                  "FirstName": "Agnieszka", "LastName": "Wójcik", "IsActive": "true"}],
    "Account.csv": [{"Id": "0017Q00000P1accAAA", "Name": "Przedsiębiorstwo Łączność Sp. z o.o.", "Phone": "+48 22 111 22 33",
                     "BillingCity": "Warszawa"}],
    "Contact.csv": [
        {"Id": "0037Q00000P1conAAA", "IsDeleted": "false", "AccountId": "0017Q00000P1accAAA", "FirstName": "Łukasz", "LastName": "Żółkiewski",
         "Email": "lukasz.z@example.pl", "Phone": "+48 601 234 567", "MobilePhone": "", "MailingStreet": "ul. Piotrkowska 120/4",
         "MailingCity": "Łódź", "MailingState": "łódzkie", "MailingPostalCode": "90-006", "MailingCountry": "Polska",
         "OwnerId": "0057Q00000P1plAAA", "LeadSource": "Otodom", "Description": "Szuka 3 pokoi", "CreatedDate": "2026-10-05T08:15:00.000+0000"},
    ],
    "Task.csv": [
        {"Id": "00T7Q00000P1tskAAA", "WhoId": "0037Q00000P1conAAA", "WhatId": "", "Subject": "Rozmowa telefoniczna",
         "Description": "Umówione oględziny", "ActivityDate": "2026-10-06", "Status": "Completed", "TaskSubtype": "Call", "Type": "",
         "OwnerId": "0057Q00000P1plAAA", "CreatedDate": "2026-10-06T08:00:00.000+0000"},
    ],
}


def salesforce_package(path: Path, data: dict | None = None, *, as_zip: bool = False) -> Path:
    """Write a Salesforce data export (SALESFORCE_JAPANESE by default; member -> rows) as a folder or a ZIP file."""
    return write_package(path, csv_members(SALESFORCE_COLUMNS, SALESFORCE_JAPANESE if data is None else data), as_zip=as_zip)
