"""Listings: is_active becomes a status, the line/station text a ListingStation row, the JSON features bits.

Its own migration (and the removal of the old columns the next one): PostgreSQL refuses to ALTER a
table in the transaction that just wrote rows with deferred foreign-key checks against it.
"""

from django.db import migrations

# The feature flags in the order of choices.FEATURE_BITS when this migration was written (bit = 1 << index).
FEATURES = [
    "バス・トイレ別", "2階以上", "駐車場あり", "ペット相談", "オートロック", "室内洗濯機置場", "エアコン付き", "フローリング",
    "南向き", "角部屋", "宅配ボックス", "独立洗面台", "追い焚き", "システムキッチン", "都市ガス", "エレベーター", "新築",
    "分譲タイプ", "楽器相談", "事務所利用可", "保証人不要", "敷金礼金0",
]


def carry_listing_data(apps, schema_editor):
    """Inactive listings become 非公開; feature names that were never flags are dropped."""
    bits = {name: 1 << index for index, name in enumerate(FEATURES)}
    Listing = apps.get_model("crm", "Listing")
    ListingStation = apps.get_model("crm", "ListingStation")
    stations = []
    for listing in Listing._base_manager.order_by("pk").iterator(chunk_size=1000):
        listing.status = "available" if listing.is_active else "hidden"
        listing.feature_bits = sum(bits.get(name, 0) for name in set(listing.features or []))
        listing.save(update_fields=["status", "feature_bits"])
        if listing.line_station.strip():
            line, _slash, station = listing.line_station.strip().rpartition("/")
            stations.append(ListingStation(company_id=listing.company_id, listing_id=listing.pk, line=line.strip()[:100],
                                           station=station.strip().removesuffix("駅")[:100], walk_minutes=listing.walk_minutes,
                                           position=0))
    ListingStation._base_manager.bulk_create(stations, batch_size=1000)


class Migration(migrations.Migration):

    dependencies = [("crm", "0012_listing_details")]

    operations = [migrations.RunPython(carry_listing_data, migrations.RunPython.noop)]
