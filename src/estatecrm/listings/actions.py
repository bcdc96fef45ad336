"""Writes of listings, their photos and their introductions to cases. Each action owns its transaction
and appends audit events with the old and new values (STYLE.md)."""

import datetime
from collections.abc import Sequence

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from estatecrm.audit.actions import record_event, snapshot
from estatecrm.audit.stale import check_read_version
from estatecrm.core.errors import ApplicationError
from estatecrm.core.versions import ReadVersion
from estatecrm.crm.choices import (
    FEATURE_BITS,
    ActivityKind,
    CaseKind,
    IntroductionMethod,
    IntroductionReaction,
    ListingStatus,
)
from estatecrm.crm.models import Activity, Case, Introduction, Listing, ListingPhoto, ListingStation
from estatecrm.listings import error_codes
from estatecrm.listings.feed import new_secret
from estatecrm.listings.models import ListingFeed
from estatecrm.listings.selectors import station_name
from estatecrm.normalize import normalize_postal_code
from estatecrm.tenancy.models import Company
from estatecrm.tenancy.permissions import require_user

# Editable fields of a listing; `features` is a list of choices.Feature values (stored as bits).
LISTING_FIELDS = (
    "ref", "name", "kind", "status", "rent", "management_fee", "deposit_months", "key_money_months", "price", "layout", "area",
    "postal_code", "prefecture", "city", "street", "building", "built_on", "features", "suumo_id", "homes_id", "athome_id",
    "notes", "agent",
)
MAX_STATIONS = 5
MAX_PHOTOS = 20
PHOTO_MAX_BYTES = 10 * 1024 * 1024
# The image types a photo may be, told by the file's first bytes (never by its name or the browser's word).
IMAGE_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def invalid(field: str, message: str, code: str = error_codes.LISTING_INVALID) -> ApplicationError:
    return ApplicationError(code, message, fields={field: [message]})


def has_foreign_amount(values: dict) -> bool:
    """A listing whose money is only an amount in another currency (a Polish office's zł, moved in from another
    vendor): it has no 万円 rent or price, and needs none."""
    return values.get("currency", "") not in ("", "JPY") and values.get("amount") is not None


def check_listing(company_id: int, values: dict, stations: list[dict]) -> None:
    """Refuse a listing that cannot be offered: a rent listing without its rent, a sale without its price,
    an agent of another company, more than MAX_STATIONS stations, a station without its name."""
    if values["kind"] == CaseKind.RENT and values.get("rent") is None and not has_foreign_amount(values):
        raise invalid("rent", _("A listing for rent needs its rent."))
    if values["kind"] == CaseKind.BUY and values.get("price") is None and not has_foreign_amount(values):
        raise invalid("price", _("A listing for sale needs its price."))
    agent = values.get("agent")
    if agent is not None and agent.company_id != company_id:
        raise invalid("agent", _("Unknown user."))
    if len(stations) > MAX_STATIONS:
        raise invalid("stations", _("At most %(count)d stations.") % {"count": MAX_STATIONS})
    if any(not station_name(item.get("station", "")) for item in stations):
        raise invalid("stations", _("Each station needs its name."))
    if values.get("postal_code") and not normalize_postal_code(values["postal_code"]).is_valid:
        raise invalid("postal_code", _("Enter a postal code of 7 digits, e.g. 150-0002."))


def _stored_values(values: dict) -> dict:
    """Form or API values as columns: the feature list becomes the bits, money for the other kind is dropped."""
    stored = {name: value for name, value in values.items() if name != "features"}
    if stored.get("postal_code"):
        stored["postal_code"] = normalize_postal_code(stored["postal_code"]).value
    if "features" in values:
        stored["feature_bits"] = sum(FEATURE_BITS[name] for name in set(values["features"]))
    if stored.get("kind") == CaseKind.BUY:
        stored.update(rent=None, management_fee=None, deposit_months=None, key_money_months=None)
    elif stored.get("kind") == CaseKind.RENT:
        stored["price"] = None
    return stored


def _write_stations(listing: Listing, stations: list[dict]) -> list[dict]:
    ListingStation.objects.for_company(listing.company_id).filter(listing=listing).delete()
    rows = [ListingStation(company_id=listing.company_id, listing=listing, line=(item.get("line") or "").strip()[:100],
                           station=station_name(item["station"])[:100], walk_minutes=item.get("walk_minutes"), position=position)
            for position, item in enumerate(stations)]
    ListingStation.objects.bulk_create(rows)
    return [{"line": row.line, "station": row.station, "walk_minutes": row.walk_minutes} for row in rows]


def _current_stations(listing: Listing) -> list[dict]:
    return [{"line": row.line, "station": row.station, "walk_minutes": row.walk_minutes}
            for row in ListingStation.objects.for_company(listing.company_id).filter(listing=listing).order_by("position", "pk")]


def _save_refusing_taken_ref(listing: Listing, **save_kwargs) -> None:
    try:
        with transaction.atomic():
            listing.save(**save_kwargs)
    except IntegrityError:
        raise invalid("ref", _("Another listing has this listing number."), error_codes.LISTING_REF_TAKEN) from None


def do_create_listing(*, company_id: int, values: dict, stations: Sequence[dict], acting_user) -> Listing:
    """A new listing with its stations (in order: the first is the nearest shown). Audited.

    Only an administrator makes a listing 非公開 (rule `listings_manage`); a taken listing number is refused.
    """
    stations = list(stations)
    check_listing(company_id, values, stations)
    if values.get("status") == ListingStatus.HIDDEN:
        require_user(acting_user, "listings_manage")
    with transaction.atomic(savepoint=False):
        listing = Listing(company_id=company_id, **_stored_values(values))
        _save_refusing_taken_ref(listing, force_insert=True)
        written = _write_stations(listing, stations)
        record_event(company_id=company_id, actor=acting_user, verb="create", instance=listing,
                     after={**snapshot(listing), "stations": written})
    return listing


def do_update_listing(*, listing: Listing, values: dict, stations: Sequence[dict] | None, acting_user,
                      read_version: ReadVersion | None = None) -> bool:
    """Change a listing (and its stations when given). Returns whether anything changed. Audited.

    Refused with Conflict (409 `stale`) when the listing changed since `read_version`; hiding it or
    making a hidden one public again is for administrators (rule `listings_manage`).
    """
    unknown = set(values) - set(LISTING_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    wanted_stations = None if stations is None else [
        {"line": (item.get("line") or "").strip(), "station": station_name(item.get("station", "")), "walk_minutes": item.get("walk_minutes")}
        for item in stations]
    # The rules first, on the listing as read (the version check below refuses it if it changed since).
    check_listing(listing.company_id, {**_editable_values(listing), "currency": listing.currency, "amount": listing.amount, **values},
                  wanted_stations or [])
    if "status" in values and values["status"] != listing.status and ListingStatus.HIDDEN in {listing.status, values["status"]}:
        require_user(acting_user, "listings_manage")
    with transaction.atomic(savepoint=False):
        listing = Listing.objects.for_company(listing.company_id).select_for_update().get(pk=listing.pk)
        check_read_version(listing, read_version)
        stored = _stored_values({**_editable_values(listing), **values})
        changed = [name for name, value in stored.items() if getattr(listing, name) != value]
        current_stations = _current_stations(listing)
        stations_changed = wanted_stations is not None and wanted_stations != current_stations
        if not changed and not stations_changed:
            return False
        attnames = [listing._meta.get_field(name).attname for name in changed]
        before = snapshot(listing, attnames)
        for name in changed:
            setattr(listing, name, stored[name])
        _save_refusing_taken_ref(listing, update_fields=[*changed, "updated_at"])
        after = snapshot(listing, attnames)
        if stations_changed:
            before["stations"] = current_stations
            after["stations"] = _write_stations(listing, wanted_stations)
        record_event(company_id=listing.company_id, actor=acting_user, verb="update", instance=listing, before=before, after=after)
    return True


def _editable_values(listing: Listing) -> dict:
    values = {name: getattr(listing, name) for name in LISTING_FIELDS if name != "features"}
    values["features"] = listing.features
    return values


def image_type(head: bytes) -> str | None:
    """The image type of a file by its first bytes (JPEG, PNG, GIF, WebP), None for anything else."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return next((kind for signature, kind in IMAGE_SIGNATURES if head.startswith(signature)), None)


def do_add_listing_photo(*, listing: Listing, upload, acting_user) -> ListingPhoto:
    """Store an uploaded image for the listing under `listings/<company>/<listing>/`. Audited.

    Refused: larger than PHOTO_MAX_BYTES, not a JPEG/PNG/GIF/WebP image by its content, more than MAX_PHOTOS.
    """
    if upload.size > PHOTO_MAX_BYTES:
        raise invalid("photo", _("The photo is too large (at most %(size)d MB).") % {"size": PHOTO_MAX_BYTES // (1024 * 1024)},
                      error_codes.PHOTO_TOO_LARGE)
    upload.seek(0)
    content_type = image_type(upload.read(16))
    upload.seek(0)
    if content_type is None:
        raise invalid("photo", _("This file is not a photo: upload a JPEG, PNG, GIF or WebP image."), error_codes.PHOTO_NOT_AN_IMAGE)
    with transaction.atomic(savepoint=False):
        Listing.objects.for_company(listing.company_id).select_for_update().get(pk=listing.pk)
        if ListingPhoto.objects.for_company(listing.company_id).filter(listing=listing).count() >= MAX_PHOTOS:
            raise invalid("photo", _("A listing has at most %(count)d photos.") % {"count": MAX_PHOTOS}, error_codes.TOO_MANY_PHOTOS)
        photo = ListingPhoto(company_id=listing.company_id, listing=listing, original_name=upload.name[:255], size=upload.size,
                             content_type=content_type, uploaded_by=acting_user, uploaded_at=timezone.now())
        photo.file.save(upload.name, upload, save=False)
        photo.save(force_insert=True)
        record_event(company_id=listing.company_id, actor=acting_user, verb="create", instance=photo,
                     after={"listing": listing.pk, "name": photo.original_name, "size": photo.size})
    return photo


def do_remove_listing_photo(*, photo: ListingPhoto, acting_user) -> None:
    """Remove a photo (administrators, rule `listings_manage`): the row, then its file once the removal is committed. Audited."""
    require_user(acting_user, "listings_manage")
    with transaction.atomic(savepoint=False):
        record_event(company_id=photo.company_id, actor=acting_user, verb="delete", instance=photo,
                     before={"listing": photo.listing_id, "name": photo.original_name, "size": photo.size})
        name, storage = photo.file.name, photo.file.storage
        photo.delete()
        transaction.on_commit(lambda: storage.delete(name))


def introduction_amount(listing: Listing):
    """What an introduction keeps of the listing's money: the rent for rent, the price for sale (万円)."""
    return listing.rent if listing.kind == CaseKind.RENT else listing.price


def do_introduce_listings(*, case: Case, listings: Sequence[Listing], method: str, introduced_on: datetime.date,
                          acting_user) -> list[Introduction]:
    """Introduce listings to a case's customer in one step: one Introduction each (keeping the listing's
    number, name, money and layout as introduced), one audit event each. Listings already introduced to
    the case are skipped; returns the new introductions. The caller has reached the case (`access_case`).
    """
    if method not in IntroductionMethod.values:
        raise invalid("method", _("Choose how the listings were introduced."), error_codes.INTRODUCTION_INVALID)
    if not listings:
        raise invalid("listings", _("Select at least one listing."), error_codes.INTRODUCTION_INVALID)
    if any(listing.company_id != case.company_id for listing in listings):
        raise invalid("listings", _("Unknown listing."), error_codes.INTRODUCTION_INVALID)
    if case.deleted_at is not None:
        raise invalid("listings", _("This case is in the trash."), error_codes.INTRODUCTION_INVALID)
    with transaction.atomic(savepoint=False):
        Case.objects.for_company(case.company_id).select_for_update().filter(pk=case.pk).exists()
        done = set(Introduction.objects.for_company(case.company_id).filter(case=case, listing__in=listings)
                   .values_list("listing_id", flat=True))
        created = []
        for listing in dict.fromkeys(listings):
            if listing.pk in done:
                continue
            introduction = Introduction(company_id=case.company_id, case=case, listing=listing, listing_ref=listing.ref,
                                        listing_name=listing.name, rent_or_price=introduction_amount(listing), layout=listing.layout,
                                        introduced_on=introduced_on, method=method)
            introduction.save(force_insert=True)
            record_event(company_id=case.company_id, actor=acting_user, verb="create", instance=introduction,
                         after={"case": case.pk, **snapshot(introduction, ["listing_id", "introduced_on", "method"])})
            created.append(introduction)
        if created:
            # The timeline says what was introduced and how (a record, not a contact: the last contact stays).
            now = timezone.now()
            Activity.objects.create(
                company_id=case.company_id, case=case, kind=ActivityKind.SYSTEM, occurred_at=now, actor=acting_user,
                subject=_("Listings introduced (%(method)s)") % {"method": IntroductionMethod(method).label},
                body="\n".join(f"{item.listing_ref} {item.listing_name} {item.layout}".rstrip() for item in created), is_done=True)
            Case.objects.for_company(case.company_id).filter(pk=case.pk).update(updated_at=now)
    return created


def do_set_introduction_reaction(*, introduction: Introduction, reaction: str, acting_user) -> bool:
    """Record the customer's reaction to an introduced listing ("" clears it). Returns whether it changed. Audited."""
    if reaction and reaction not in IntroductionReaction.values:
        raise invalid("reaction", _("Unknown reaction."), error_codes.INTRODUCTION_INVALID)
    with transaction.atomic(savepoint=False):
        introduction = Introduction.objects.for_company(introduction.company_id).select_for_update().get(pk=introduction.pk)
        if introduction.reaction == reaction:
            return False
        before = snapshot(introduction, ["reaction"])
        introduction.reaction = reaction
        introduction.save(update_fields=["reaction", "updated_at"])
        record_event(company_id=introduction.company_id, actor=acting_user, verb="update", instance=introduction,
                     before=before, after=snapshot(introduction, ["reaction"]))
    return True


# The listings feed (feed.py): its key and whether it answers. Rule `listings_feed` (company administrators).


def _feed_state(feed: ListingFeed) -> dict:
    """What the audit trail keeps of a feed: never its secret, only whether it answers and when the key last changed."""
    return {"is_enabled": feed.is_enabled, "rotated_at": feed.rotated_at.isoformat() if feed.rotated_at else None}


@transaction.atomic(durable=True)
def do_create_listing_feed(*, company_id: int, acting_user) -> tuple[ListingFeed, bool]:
    """The company's listings feed with a new random key, turned on. Returns (feed, created): a company has one
    feed, so when it exists already it is returned unchanged. Audited (without the key)."""
    require_user(acting_user, "listings_feed")
    # One feed per company (a constraint too): the company's row orders two concurrent creations.
    Company.objects.select_for_update().filter(pk=company_id).first()
    feed = ListingFeed.objects.for_company(company_id).first()
    if feed is not None:
        return feed, False
    feed = ListingFeed(company_id=company_id, secret=new_secret(), is_enabled=True, created_by=acting_user)
    feed.save(force_insert=True)
    record_event(company_id=company_id, actor=acting_user, verb="create", instance=feed, after=_feed_state(feed))
    return feed, True


def _locked_feed(company_id: int) -> ListingFeed:
    feed = ListingFeed.objects.for_company(company_id).select_for_update().first()
    if feed is None:
        raise ApplicationError(error_codes.FEED_MISSING, _("The listings feed has not been set up yet."))
    return feed


@transaction.atomic(durable=True)
def do_rotate_listing_feed_key(*, company_id: int, acting_user) -> ListingFeed:
    """Give the company's feed a new random key: the old URLs answer 404 from this commit on (their cached bodies
    are keyed by the old key, so they are never served again). Audited (without either key)."""
    require_user(acting_user, "listings_feed")
    feed = _locked_feed(company_id)
    before = _feed_state(feed)
    feed.secret = new_secret()
    feed.rotated_at = timezone.now()
    feed.save(update_fields=["secret", "rotated_at"])
    record_event(company_id=company_id, actor=acting_user, verb="rotate_key", instance=feed, before=before, after=_feed_state(feed))
    return feed


@transaction.atomic(durable=True)
def do_set_listing_feed_enabled(*, company_id: int, is_enabled: bool, acting_user) -> bool:
    """Turn the company's feed off (its URLs answer 404, the key is kept) or on again. Returns whether it changed. Audited."""
    require_user(acting_user, "listings_feed")
    feed = _locked_feed(company_id)
    if feed.is_enabled == is_enabled:
        return False
    before = _feed_state(feed)
    feed.is_enabled = is_enabled
    feed.save(update_fields=["is_enabled"])
    record_event(company_id=company_id, actor=acting_user, verb="update", instance=feed, before=before, after=_feed_state(feed))
    return True
