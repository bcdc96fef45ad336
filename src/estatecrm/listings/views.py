"""The listing pages (list with filters, new, edit, detail with photos), the case's introductions, the public
listings feed (JSON and XML behind the company's key) and its settings page.

Views stay thin (STYLE.md): parse a form, find the object through a selector, call one action, render.
"""

from django.contrib import messages
from django.db import transaction
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST, require_safe

from estatecrm.audit.stale import history_filter, last_event_id
from estatecrm.core.errors import ApplicationError, Conflict, NotFound
from estatecrm.core.pagination import InvalidInput, keyset_page
from estatecrm.core.versions import ReadVersion, rebound_at_version
from estatecrm.crm.choices import CaseKind, Layout, ListingStatus
from estatecrm.crm.models import Introduction
from estatecrm.crm.selectors import access_case
from estatecrm.listings import actions, feed, selectors
from estatecrm.listings.filtersets import ListingFilters, filter_listings
from estatecrm.listings.forms import IntroduceForm, ListingEditForm, ListingForm, PhotoForm, ReactionForm
from estatecrm.tenancy.decorators import permission_view
from estatecrm.tenancy.permissions import allows
from estatecrm.tenancy.selectors import Actor

PAGE_SIZE = 50


def show_error(request: HttpRequest, error: ApplicationError, form) -> None:
    """An action's refusal next to the field it names, else above the form."""
    placed = False
    for name, field_messages in error.fields.items():
        if name in form.fields:
            for message in field_messages:
                form.add_error(name, message)
            placed = True
    if not placed:
        form.add_error(None, error.message)


@require_GET
@permission_view("listings")
def listing_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    filters = ListingFilters.from_query(request.GET)
    case = access_case(actor, request.GET["case"]) if request.GET.get("case") else None
    listings = filter_listings(actor, filters, listings=selectors.case_matches(actor, case) if case else None)
    try:
        page = keyset_page(listings.select_related("agent"), order=("-pk",), cursor=request.GET.get("cursor"), limit=PAGE_SIZE)
    except InvalidInput:
        page = keyset_page(listings.select_related("agent"), order=("-pk",), cursor=None, limit=PAGE_SIZE)
    query = request.GET.copy()
    query.pop("cursor", None)
    if page.next_cursor:
        query["cursor"] = page.next_cursor
    return render(request, "listings/listing_list.html", {
        "actor": actor, "filters": filters, "listings": page.items, "case": case,
        "next_url": f"?{query.urlencode()}" if page.next_cursor else "", "is_first_page": not request.GET.get("cursor"),
        "kinds": [(CaseKind.RENT, _("For rent")), (CaseKind.BUY, _("For sale"))], "statuses": ListingStatus.choices,
        "layouts": Layout.choices,
    })


@permission_view("listings")
def listing_new(request: HttpRequest, actor: Actor) -> HttpResponse:
    form = ListingForm(request.POST or None, actor=actor, initial={"agent": actor.user.pk})
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                listing = actions.do_create_listing(company_id=actor.company_id, values=form.listing_values(), stations=form.stations(),
                                                    acting_user=actor.user)
        except ApplicationError as error:
            show_error(request, error, form)
        else:
            messages.success(request, _("The listing was saved."))
            return redirect("listings:detail", listing_id=listing.pk)
    return render(request, "listings/listing_form.html", {"actor": actor, "form": form}, status=400 if form.errors else 200)


@require_GET
@permission_view("listings")
def listing_detail(request: HttpRequest, actor: Actor, listing_id: int) -> HttpResponse:
    listing = selectors.access_listing(actor, listing_id)
    return render(request, "listings/listing_detail.html", {
        "actor": actor, "listing": listing, "stations": selectors.stations_of(actor, listing),
        "photos": selectors.photos_of(actor, listing), "photo_form": PhotoForm(), "photo_max_mb": actions.PHOTO_MAX_BYTES // (1024 * 1024),
        "may_manage": allows(actor, "listings_manage"),
    })


@permission_view("listings")
def listing_edit(request: HttpRequest, actor: Actor, listing_id: int) -> HttpResponse:
    listing = selectors.access_listing(actor, listing_id)
    version = ReadVersion.of(listing, seen_event_id=last_event_id(actor.company_id, history_filter(listing)))
    initial = {**ListingForm.initial_for(listing, selectors.stations_of(actor, listing)), "version": version.as_field()}
    form = ListingEditForm(request.POST or None, actor=actor, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                actions.do_update_listing(listing=listing, values=form.listing_values(), stations=form.stations(), acting_user=actor.user,
                                          read_version=ReadVersion.from_field(form.cleaned_data["version"]))
        except Conflict as error:
            form = rebound_at_version(request.POST, ListingEditForm, version, error.message, actor=actor, initial=initial)
            return render(request, "listings/listing_form.html", {"actor": actor, "form": form, "listing": listing}, status=409)
        except ApplicationError as error:
            show_error(request, error, form)
        else:
            messages.success(request, _("The listing was saved."))
            return redirect("listings:detail", listing_id=listing.pk)
    return render(request, "listings/listing_form.html", {"actor": actor, "form": form, "listing": listing},
                  status=400 if form.errors else 200)


@require_POST
@permission_view("listings")
def photo_upload(request: HttpRequest, actor: Actor, listing_id: int) -> HttpResponse:
    listing = selectors.access_listing(actor, listing_id)
    form = PhotoForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            with transaction.atomic():
                actions.do_add_listing_photo(listing=listing, upload=form.cleaned_data["photo"], acting_user=actor.user)
        except ApplicationError as error:
            show_error(request, error, form)
        else:
            messages.success(request, _("The photo was added."))
            return redirect(reverse("listings:detail", kwargs={"listing_id": listing.pk}) + "#photos")
    return render(request, "listings/listing_detail.html", {
        "actor": actor, "listing": listing, "stations": selectors.stations_of(actor, listing),
        "photos": selectors.photos_of(actor, listing), "photo_form": form, "photo_max_mb": actions.PHOTO_MAX_BYTES // (1024 * 1024),
        "may_manage": allows(actor, "listings_manage"),
    }, status=400)


@require_GET
@permission_view("listings")
def photo_download(request: HttpRequest, actor: Actor, listing_id: int, photo_id: int) -> HttpResponse:
    """The photo itself, as an image of the type its content was checked to be (thumbnails and full size)."""
    photo = selectors.access_photo(actor, selectors.access_listing(actor, listing_id), photo_id)
    response = FileResponse(photo.file.open("rb"), content_type=photo.content_type, filename=photo.original_name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@require_POST
@permission_view("listings_manage")
def photo_remove(request: HttpRequest, actor: Actor, listing_id: int, photo_id: int) -> HttpResponse:
    photo = selectors.access_photo(actor, selectors.access_listing(actor, listing_id), photo_id)
    with transaction.atomic():
        actions.do_remove_listing_photo(photo=photo, acting_user=actor.user)
    messages.success(request, _("The photo was removed."))
    return redirect(reverse("listings:detail", kwargs={"listing_id": listing_id}) + "#photos")


@require_POST
@permission_view("listings")
def introduce(request: HttpRequest, actor: Actor, case_id: int) -> HttpResponse:
    """Introduce the listings ticked under 「条件に合う物件」 (or any of the company's listings) to the case's customer."""
    case = access_case(actor, case_id)
    form = IntroduceForm(request.POST, listing_ids=request.POST.getlist("listing_ids"))
    back = reverse("crm:detail", kwargs={"case_id": case.pk}) + "#introductions"
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return redirect(back)
    listings = list(selectors.company_listings(actor).filter(pk__in=form.cleaned_data["listing_ids"]))
    if len(listings) != len(set(form.cleaned_data["listing_ids"])):
        raise NotFound()
    try:
        with transaction.atomic():
            created = actions.do_introduce_listings(case=case, listings=listings, method=form.cleaned_data["method"],
                                                    introduced_on=form.cleaned_data["introduced_on"], acting_user=actor.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, ngettext("%(count)d listing was introduced.", "%(count)d listings were introduced.", len(created))
                         % {"count": len(created)})
    return redirect(back)


@require_POST
@permission_view("listings")
def reaction(request: HttpRequest, actor: Actor, case_id: int, introduction_id: int) -> HttpResponse:
    case = access_case(actor, case_id)
    introduction = Introduction.objects.for_company(actor.company_id).filter(case=case, pk=introduction_id).first()
    if introduction is None:
        raise NotFound()
    form = ReactionForm(request.POST)
    if form.is_valid():
        with transaction.atomic():
            actions.do_set_introduction_reaction(introduction=introduction, reaction=form.cleaned_data["reaction"], acting_user=actor.user)
        messages.success(request, _("The reaction was saved."))
    else:
        messages.error(request, _("Unknown reaction."))
    return redirect(reverse("crm:detail", kwargs={"case_id": case.pk}) + "#introductions")


# ---------------------------------------------------------------------------------------------
# The listings feed (public, behind the company's key) and its settings page (rule `listings_feed`)


@require_safe
def listings_feed(request: HttpRequest, key: str, feed_format: str) -> HttpResponse:
    """The company's available listings as JSON or XML (feed.py). No log-in: the key is the capability. An
    unknown, malformed, rotated or turned-off key answers a bare 404 alike. Conditional requests (If-None-Match,
    If-Modified-Since) answer 304 from the cached entry; every answer says how long it may be reused."""
    listing_feed = feed.feed_for_key(key)
    if listing_feed is None:
        return HttpResponse(status=404, content_type="text/plain; charset=utf-8")
    body = feed.cached_feed(listing_feed, feed_format)
    response = get_conditional_response(request, etag=body.etag, last_modified=int(body.last_modified.timestamp()))
    if response is None:
        response = HttpResponse(body.content, content_type=feed.FORMATS[feed_format])
    if response.status_code in (200, 304):
        response["ETag"] = body.etag
        response["Last-Modified"] = http_date(body.last_modified.timestamp())
        response["Cache-Control"] = f"public, max-age={feed.MAX_AGE_SECONDS}"
        # The URL is a secret: a search engine that comes across it must not list it.
        response["X-Robots-Tag"] = "noindex"
    return response


def feed_urls(request: HttpRequest, listing_feed) -> dict[str, str]:
    """The feed's absolute URLs (as this page was reached: behind HTTPS they start with https://)."""
    return {feed_format: request.build_absolute_uri(reverse(f"listings_feed:{feed_format}", kwargs={"key": listing_feed.key}))
            for feed_format in feed.FORMATS}


@require_GET
@permission_view("listings_feed")
def feed_settings(request: HttpRequest, actor: Actor) -> HttpResponse:
    listing_feed = selectors.listing_feed(actor)
    published = selectors.company_listings(actor).filter(status=ListingStatus.AVAILABLE).count() if listing_feed else 0
    return render(request, "listings/feed_settings.html", {
        "actor": actor, "feed": listing_feed, "urls": feed_urls(request, listing_feed) if listing_feed else {}, "published": published,
    })


@require_POST
@permission_view("listings_feed")
def feed_create(request: HttpRequest, actor: Actor) -> HttpResponse:
    _feed, created = actions.do_create_listing_feed(company_id=actor.company_id, acting_user=actor.user)
    if created:
        messages.success(request, _("The listings feed is on: give its URL to your website or portal."))
    return redirect("listings_feed_settings:home")


@require_http_methods(["GET", "POST"])
@permission_view("listings_feed")
def feed_rotate(request: HttpRequest, actor: Actor) -> HttpResponse:
    """GET: what rotating does, to confirm; POST: a new key (the old URLs stop answering at once)."""
    listing_feed = selectors.listing_feed(actor)
    if listing_feed is None:
        return redirect("listings_feed_settings:home")
    if request.method == "POST":
        actions.do_rotate_listing_feed_key(company_id=actor.company_id, acting_user=actor.user)
        messages.success(request, _("The feed has a new key. The old URLs no longer work: give the new ones to your website and portals."))
        return redirect("listings_feed_settings:home")
    return render(request, "listings/feed_rotate.html", {"actor": actor, "feed": listing_feed})


@require_POST
@permission_view("listings_feed")
def feed_set_enabled(request: HttpRequest, actor: Actor) -> HttpResponse:
    is_enabled = request.POST.get("enabled") == "1"
    try:
        changed = actions.do_set_listing_feed_enabled(company_id=actor.company_id, is_enabled=is_enabled, acting_user=actor.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        if changed and is_enabled:
            messages.success(request, _("The listings feed is on again, at the same URLs."))
        elif changed:
            messages.success(request, _("The listings feed is off: its URLs answer “not found” until you turn it on again."))
    return redirect("listings_feed_settings:home")
