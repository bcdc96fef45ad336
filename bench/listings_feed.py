"""The listings feed with 10,000 available listings (issue 14): build time of JSON and XML, and requests.

    .venv/bin/python bench/listings_feed.py [--listings 10000] [--workdir DIR] [--requests 20]

Fills a fresh database (SQLite in the work directory unless DATABASE_URL is set; a filled one is reused) with one company, 20 agents
and `--listings` available listings (two stations each, features, Japanese names) plus a tenth as many hidden
ones; then prints, in milliseconds: building each format (median of 5, no cache; wall and CPU time), a full request through Django
with an empty cache (build + cache), a request answered from the cache, and a conditional request answered 304.
"""

import argparse
import datetime
import os
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import environment  # the bench folder is not a package: imported from sys.path


def fill(count: int) -> None:
    from django.db import transaction

    from estatecrm.core import testing
    from estatecrm.crm.choices import FEATURE_BITS
    from estatecrm.crm.models import Listing, ListingStation
    from estatecrm.listings.actions import do_create_listing_feed

    rng = random.Random(14)
    company = testing.make_company("bench", "ベンチ不動産株式会社")
    unit = testing.make_unit(company, "HQ", name="本社")
    agents = [testing.make_user(company, unit, email=f"agent{number}@bench.example.jp", name=f"担当 {number}") for number in range(20)]
    bits = list(FEATURE_BITS.values())
    with transaction.atomic():
        rows = []
        for number in range(count + count // 10):
            rows.append(Listing(
                company=company, ref=f"B-{number:06d}", name=f"メゾン・ベンチ{number} & <{rng.choice(['新築', '角部屋'])}>", kind="rent",
                status="available" if number < count else "hidden", rent=Decimal(rng.randint(50, 300)) / 10, management_fee=5000,
                deposit_months=Decimal(1), key_money_months=Decimal(1), layout=rng.choice(["1K", "1LDK", "2LDK"]),
                area=Decimal(rng.randint(1800, 9000)) / 100, postal_code="150-0002", prefecture="東京都", city="渋谷区",
                street=f"渋谷{rng.randint(1, 4)}-{rng.randint(1, 30)}-{rng.randint(1, 20)}", building=f"ベンチビル{number % 50}",
                built_on=datetime.date(rng.randint(1980, 2025), rng.randint(1, 12), 1),
                feature_bits=sum(rng.sample(bits, 4)), suumo_id=str(100000000000 + number), agent=rng.choice(agents)))
        Listing.objects.bulk_create(rows, batch_size=2000)
        ids = list(Listing.objects.for_company(company).values_list("pk", flat=True))
        ListingStation.objects.bulk_create(
            [ListingStation(company=company, listing_id=pk, line=line, station=station, walk_minutes=rng.randint(1, 20), position=position)
             for pk in ids for position, (line, station) in enumerate([("JR山手線", "渋谷"), ("東急田園都市線", "池尻大橋")])],
            batch_size=5000)
    do_create_listing_feed(company_id=company.pk, acting_user=None)


def milliseconds(call, repeat: int, clock=time.perf_counter) -> list[float]:
    """Wall time by default; `clock=time.process_time` gives this process's CPU time (SQLite runs in it), which
    other processes on a busy machine do not inflate."""
    times = []
    for _ in range(repeat):
        started = clock()
        call()
        times.append((clock() - started) * 1000)
    return times


def measure(listing_feed, feed_format: str, client, requests: int) -> None:
    from django.core.cache import cache

    from estatecrm.listings import feed

    build = milliseconds(lambda: feed.build_feed(listing_feed, feed_format), 5)
    build_cpu = milliseconds(lambda: feed.build_feed(listing_feed, feed_format), 5, clock=time.process_time)
    body = feed.build_feed(listing_feed, feed_format)
    url = f"/feeds/listings/{listing_feed.key}.{feed_format}"

    def cold():
        cache.clear()
        assert client.get(url).status_code == 200

    cold_times = milliseconds(cold, 5)
    first = client.get(url)
    warm = milliseconds(lambda: client.get(url), requests)
    not_modified = milliseconds(lambda: client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]), requests)
    print(f"{feed_format}: {len(body.content) / 1e6:.1f} MB, {body.count:,} listings; build median {statistics.median(build):.0f} ms "
          f"(CPU {statistics.median(build_cpu):.0f} ms); request: empty cache {statistics.median(cold_times):.0f} ms, "
          f"cached {statistics.median(warm):.0f} ms, 304 {statistics.median(not_modified):.1f} ms (medians)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listings", type=int, default=10_000)
    parser.add_argument("--workdir")
    parser.add_argument("--requests", type=int, default=20)
    options = parser.parse_args()
    _workdir, env = environment(options.workdir)
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from estatecrm.listings.models import ListingFeed

    call_command("migrate", verbosity=0)
    if ListingFeed.objects.unscoped().exists():
        print("reusing the filled database (a DATABASE_URL given twice)")
    else:
        started = time.perf_counter()
        fill(options.listings)
        print(f"filled {options.listings:,} available listings in {time.perf_counter() - started:.1f} s")
    listing_feed = ListingFeed.objects.unscoped().select_related("company").get()
    client = Client(HTTP_HOST="localhost")
    for feed_format in ("json", "xml"):
        measure(listing_feed, feed_format, client, options.requests)


if __name__ == "__main__":
    main()
