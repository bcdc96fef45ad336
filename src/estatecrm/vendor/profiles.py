"""Profiles: how one vendor's package becomes canonical records (records.py).

FOUNDATION VERSION (helper "profiles" replaces it with YAML profiles: template, hubspot, salesforce,
or a file): only the built-in `template`, hard-coded. The interface stays:
    load_profile(name_or_path) -> Profile
    extract(profile, package_path) -> Extracted   (its .check is the CheckReport)
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from estatecrm.vendor.package import Package
from estatecrm.vendor.records import (
    ActivityRecord,
    AgentRecord,
    CheckReport,
    Extracted,
    LinkRecord,
    ListingRecord,
    Problem,
    SeekerRecord,
)


@dataclass
class Profile:
    name: str
    text: str = ""


def load_profile(name_or_path: str) -> Profile:
    return Profile(name=name_or_path)


def _money(record, name: str, text: str):
    if not text.strip():
        return None
    try:
        return Decimal(text.strip())
    except InvalidOperation:
        record.problems.append(Problem(name, "invalid_value", text))
        return None


def _when(text: str):
    return datetime.datetime.fromisoformat(text) if text.strip() else None


def extract(profile: Profile, package_path) -> Extracted:
    with Package(package_path) as package:
        manifest = package.json("manifest.json")
        check = CheckReport()
        _h, agent_rows = package.rows("agents.csv")
        agents = [AgentRecord(key=cells["email"].strip().lower(), file="agents.csv", row=row, cells=cells, email=cells["email"].strip().lower(),
                              name=cells["name"], unit=cells["unit"]) for row, cells in agent_rows]
        listings = []
        for row, cells in package.rows("listings.csv")[1]:
            record = ListingRecord(key=cells["id"], file="listings.csv", row=row, cells=cells, title=cells["title"],
                                   kind=cells["kind"], is_active=cells["status"] == "active", city=cells["city"], street=cells["address"],
                                   postal_code=cells["postal_code"], layout=cells["layout"], station=cells["station"],
                                   agent_key=cells["agent_email"].strip().lower(), created_at=_when(cells["created_at"]),
                                   updated_at=_when(cells["updated_at"]))
            record.amount = _money(record, "price", cells["price"])
            record.area_m2 = _money(record, "area_m2", cells["area_m2"])
            record.walk_minutes = int(cells["walk_minutes"]) if cells["walk_minutes"].strip() else None
            record.built_year = int(cells["built_year"]) if cells["built_year"].strip() else None
            listings.append(record)
        seekers = []
        for row, cells in package.rows("seekers.csv")[1]:
            record = SeekerRecord(key=cells["id"], file="seekers.csv", row=row, cells=cells, name=cells["name"], kana=cells["kana"],
                                  emails=[cells["email"]] if cells["email"] else [], phones=[cells["phone"]] if cells["phone"] else [],
                                  kind=cells["kind"], is_active=cells["status"] == "active", status_text=cells["status"],
                                  areas=[part for part in cells["areas"].split(";") if part],
                                  layouts=[part for part in cells["layouts"].split(";") if part],
                                  agent_key=cells["agent_email"].strip().lower(), created_at=_when(cells["created_at"]))
            record.budget_min = _money(record, "budget_min", cells["budget_min"])
            record.budget_max = _money(record, "budget_max", cells["budget_max"])
            seekers.append(record)
        activities = [ActivityRecord(key=cells["id"], file="activities.csv", row=row, cells=cells, seeker_key=cells["seeker_id"],
                                     listing_key=cells["listing_id"], kind=cells["kind"], at=_when(cells["at"]), text=cells["text"],
                                     agent_key=cells["agent_email"].strip().lower()) for row, cells in package.rows("activities.csv")[1]]
        links = [LinkRecord(key=f"{cells['seeker_id']}:{cells['listing_id']}:{cells['kind']}", file="links.csv", row=row, cells=cells,
                            seeker_key=cells["seeker_id"], listing_key=cells["listing_id"], kind=cells["kind"], at=_when(cells["at"]))
                 for row, cells in package.rows("links.csv")[1]]
    for entity, records in (("agents", agents), ("listings", listings), ("seekers", seekers), ("activities", activities), ("links", links)):
        check.counts[entity] = len(records)
    exported = manifest.get("exported_at")
    return Extracted(vendor=manifest["vendor"], region=manifest.get("region", "JP"), currency=manifest.get("currency", "JPY"),
                     exported_at=datetime.datetime.fromisoformat(exported) if exported else None, agents=agents, listings=listings,
                     seekers=seekers, activities=activities, links=links, check=check)
