"""The listings feed: a company's available listings as JSON and XML for its website and portals.

docs/listings-feed.md describes the URLs, both formats and the caching. In short:
- the key in the URL finds the company's ListingFeed (`feed_for_key`: unknown, malformed, rotated or turned-off
  keys alike give None, the view answers 404);
- `feed_version` is one aggregate query over the company's listings (count and newest `updated_at`) with the
  company's name, the key and FORMAT_VERSION: any listing edit, creation or removal changes it (a bulk write of
  listings must set `updated_at`, as every action does; else its change shows within CACHE_SECONDS);
- `cached_feed` returns the body built for that version from Django's cache (one entry per company and format,
  replaced when the version changes), building it on a miss with two `values_list` queries (listings with their
  agent's name; their stations) and no query per listing;
- the entry keeps its strong ETag and Last-Modified (the time it was built, also the body's `generated_at`), so
  a conditional request is answered 304 from the cache entry without building anything.

Only listings whose status is 募集中 (`available`) are published; hidden, applied and contracted ones, and
anything else, are left out. Nothing private is published: no e-mail, no notes, only the agent's name.
"""

import datetime
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from django.core.cache import cache
from django.db.models import Count, Max
from django.utils import timezone

from estatecrm.crm.choices import FEATURE_BITS, CaseKind, ListingStatus
from estatecrm.crm.models import Listing, ListingStation
from estatecrm.listings.models import ListingFeed

FORMAT_VERSION = 1
FORMAT_NAME = f"estatecrm-listings-feed/{FORMAT_VERSION}"
FORMATS = {"json": "application/json; charset=utf-8", "xml": "application/xml; charset=utf-8"}
SECRET_BYTES = 32  # 256 random bits: 43 URL-safe characters
MAX_KEY_LENGTH = 100
# A built body stays in the cache this long at most: its key changes with every listing edit, so this only bounds
# how long an agent's or a company's new name (which no listing edit announces) waits to appear.
CACHE_SECONDS = 600
# What the website's or portal's client may reuse without asking again.
MAX_AGE_SECONDS = 300
# Characters XML 1.0 cannot hold at all (control characters but tab, newline, carriage return; U+FFFE, U+FFFF):
# written, they would make a document no parser reads, so they are dropped from the XML (an import may bring them).
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
KEY_PATTERN = re.compile(r"([1-9][0-9]{0,18})_([A-Za-z0-9_-]{20,64})")

LISTING_COLUMNS = (
    "pk", "ref", "name", "kind", "status", "rent", "price", "currency", "amount", "management_fee", "deposit_months",
    "key_money_months", "layout", "area", "postal_code", "prefecture", "city", "street", "building", "built_on", "feature_bits",
    "suumo_id", "homes_id", "athome_id", "updated_at", "agent__name",
)


def new_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


def feed_for_key(key: str) -> ListingFeed | None:
    """The enabled feed whose key is `key`, else None (malformed, unknown company, no feed, rotated or turned off).

    The company id in the key finds the one candidate (the company-first index); the secret is compared in
    constant time, so the answer's timing says nothing about how much of a guess was right.
    """
    match = KEY_PATTERN.fullmatch(key or "") if len(key or "") <= MAX_KEY_LENGTH else None
    if match is None:
        return None
    company_id, secret = int(match.group(1)), match.group(2)
    feed = ListingFeed.objects.for_company(company_id).select_related("company").first()
    if feed is None:
        return None
    secret_matches = hmac.compare_digest(feed.secret.encode("ascii"), secret.encode("ascii"))
    if not secret_matches or not feed.is_enabled:
        return None
    return feed


@dataclass(frozen=True)
class FeedBody:
    """One built feed: the bytes, with the validators a conditional request is answered from."""

    version: str
    content: bytes
    etag: str
    last_modified: datetime.datetime
    count: int


def feed_version(feed: ListingFeed) -> str:
    """A digest that changes whenever the feed's content may: one aggregate query over the company's listings."""
    listings = Listing.objects.for_company(feed.company_id).aggregate(count=Count("pk"), newest=Max("updated_at"))
    newest = listings["newest"].isoformat() if listings["newest"] else "-"
    text = "|".join([str(FORMAT_VERSION), str(listings["count"]), newest, feed.company.name, feed.secret])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def cache_key(feed: ListingFeed, feed_format: str) -> str:
    return f"listings-feed:{feed.company_id}:{feed_format}"


def cached_feed(feed: ListingFeed, feed_format: str) -> FeedBody:
    """The feed in `feed_format` ("json" or "xml") for the listings as they are now: from the cache when it was
    built for this version of them, else built and cached.

    One entry per company and format, which a new version replaces: a body is megabytes (10,000 listings: 8-10 MB),
    so entries keyed by version would pile up in the cache after every edit until they expire."""
    version = feed_version(feed)
    key = cache_key(feed, feed_format)
    body = cache.get(key)
    if body is None or body.version != version:
        body = build_feed(feed, feed_format, version=version)
        cache.set(key, body, CACHE_SECONDS)
    return body


def build_feed(feed: ListingFeed, feed_format: str, *, version: str = "") -> FeedBody:
    generated_at = timezone.now().replace(microsecond=0)
    listings = feed_listings(feed.company_id)
    meta = {"format": FORMAT_NAME, "company": feed.company.name, "generated_at": generated_at.isoformat(), "count": len(listings)}
    content = as_json(meta, listings) if feed_format == "json" else as_xml(meta, listings)
    # Strong: these exact bytes (another process builds its own body, with its own `generated_at`, and its own ETag).
    etag = '"' + hashlib.sha256(content).hexdigest()[:32] + '"'
    return FeedBody(version=version, content=content, etag=etag, last_modified=generated_at, count=len(listings))


def feed_listings(company_id: int) -> list[dict]:
    """The company's available listings as the feed's records (JSON shape), oldest first: two queries."""
    rows = (Listing.objects.for_company(company_id).filter(status=ListingStatus.AVAILABLE).order_by("pk")
            .values_list(*LISTING_COLUMNS))
    stations: dict[int, list[dict]] = {}
    station_rows = (ListingStation.objects.for_company(company_id).filter(listing__status=ListingStatus.AVAILABLE)
                    .order_by("listing_id", "position", "pk").values_list("listing_id", "line", "station", "walk_minutes"))
    # Plain fetches, not `.iterator()`: on PostgreSQL a server-side cursor makes the planner pick a fast-start plan
    # that took 2-3 s for the stations of 10,000 listings instead of 30 ms (bench/listings_feed.py). The records are
    # held in memory anyway.
    for listing_id, line, station, walk_minutes in station_rows:
        stations.setdefault(listing_id, []).append({"line": line or None, "station": station, "walk_minutes": walk_minutes})
    feature_bits = list(FEATURE_BITS.items())
    records = []
    for (pk, ref, name, kind, status, rent, price, currency, amount, management_fee, deposit_months, key_money_months, layout, area,
         postal_code, prefecture, city, street, building, built_on, bits, suumo_id, homes_id, athome_id, updated_at,
         agent_name) in rows:
        records.append({
            "ref": ref,
            "name": name,
            "kind": "rent" if kind == CaseKind.RENT else "sale",
            "status": status,
            "rent_man_yen": None if rent is None else str(rent),
            "price_man_yen": price,
            "currency": currency or None,
            "amount": None if amount is None else str(amount),
            "management_fee_yen": management_fee,
            "deposit_months": None if deposit_months is None else str(deposit_months),
            "key_money_months": None if key_money_months is None else str(key_money_months),
            "layout": layout or None,
            "area_m2": None if area is None else str(area),
            "address": {"postal_code": postal_code or None, "prefecture": prefecture or None, "city": city or None,
                        "street": street or None, "building": building or None},
            "stations": stations.get(pk, []),
            "built_year": built_on.year if built_on else None,
            "features": [feature for feature, bit in feature_bits if bits & bit],
            "portal_ids": {"suumo": suumo_id or None, "homes": homes_id or None, "athome": athome_id or None},
            "agent": agent_name or None,
            "updated_at": updated_at.isoformat(),
        })
    return records


def as_json(meta: dict, listings: list[dict]) -> bytes:
    return json.dumps({**meta, "listings": listings}, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# The XML elements of a listing's scalar fields, in order: (element, JSON key, unit attribute).
XML_FIELDS = (
    ("name", "name", None), ("kind", "kind", None), ("status", "status", None), ("rent", "rent_man_yen", "man-yen"),
    ("price", "price_man_yen", "man-yen"), ("management-fee", "management_fee_yen", "yen"), ("deposit", "deposit_months", "months"),
    ("key-money", "key_money_months", "months"), ("layout", "layout", None), ("area", "area_m2", "m2"),
)


def xml_text(value) -> str:
    """Text for an XML element: `&`, `<`, `>` escaped, characters XML cannot hold dropped."""
    return escape(NOT_XML.sub("", str(value)))


def xml_attribute(value) -> str:
    """A quoted attribute value: as `xml_text`, quotes escaped too."""
    return quoteattr(NOT_XML.sub("", str(value)))


def as_xml(meta: dict, listings: list[dict]) -> bytes:
    """The feed as XML (schema in docs/listings-feed.md): UTF-8, no DTD, empty values left out.

    Written as text with the standard library's escaping (`xml.sax.saxutils`): ElementTree's serializer, pure
    Python, took over a second for 10,000 listings; this takes a tenth of it. Tests parse the result."""
    parts = ["<?xml version='1.0' encoding='utf-8'?>\n", f"<listings-feed format={xml_attribute(FORMAT_NAME)}>",
             f"<company>{xml_text(meta['company'])}</company><generated-at>{meta['generated_at']}</generated-at>",
             f"<count>{meta['count']}</count><listings>"]
    add = parts.append
    for listing in listings:
        add(f"<listing ref={xml_attribute(listing['ref'])}>")
        for element, name, unit in XML_FIELDS:
            value = listing[name]
            if value is not None:
                add(f"<{element} unit=\"{unit}\">{xml_text(value)}</{element}>" if unit else f"<{element}>{xml_text(value)}</{element}>")
        if listing["amount"] is not None:
            add(f"<amount currency={xml_attribute(listing['currency'] or '')}>{listing['amount']}</amount>")
        add("<address>")
        for name, value in listing["address"].items():
            if value is not None:
                element = name.replace("_", "-")
                add(f"<{element}>{xml_text(value)}</{element}>")
        add("</address>")
        if listing["stations"]:
            add("<stations>")
            for station in listing["stations"]:
                line = f" line={xml_attribute(station['line'])}" if station["line"] else ""
                walk = f" walk-minutes=\"{station['walk_minutes']}\"" if station["walk_minutes"] is not None else ""
                add(f"<station{line}{walk}>{xml_text(station['station'])}</station>")
            add("</stations>")
        if listing["built_year"] is not None:
            add(f"<built-year>{listing['built_year']}</built-year>")
        if listing["features"]:
            add("<features>" + "".join(f"<feature>{xml_text(feature)}</feature>" for feature in listing["features"]) + "</features>")
        portal_ids = [(name, value) for name, value in listing["portal_ids"].items() if value is not None]
        if portal_ids:
            add("<portal-ids>" + "".join(f"<{name}>{xml_text(value)}</{name}>" for name, value in portal_ids) + "</portal-ids>")
        if listing["agent"] is not None:
            add(f"<agent>{xml_text(listing['agent'])}</agent>")
        add(f"<updated-at>{listing['updated_at']}</updated-at></listing>")
    add("</listings></listings-feed>\n")
    return "".join(parts).encode("utf-8")
