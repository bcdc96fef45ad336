"""Packages for the tests, written as real files (a folder or a ZIP) in a vendor's layout.

`template_package(path, ...)` writes our own template format (docs/vendor-migration.md). The default data
is a small Japanese office; `POLISH` is a Polish one (zł with decimal commas in its own profile's tests,
+48 phones, Polish letters).
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
