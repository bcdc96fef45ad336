"""The exact-rule 名寄せ candidates of data written before candidates were kept (crm.duplicates), computed once.

Self-contained on the historical models (the migration must keep working whatever the models become), with the
semantics of crm.duplicates.exact_matches_all + case_pairs: a normalized phone or e-mail held by two or more live
customers, not shared (held by `shared_threshold` or more, unless marked personal; or marked shared), pairs every
live case of one with every live case of the other, keyed by the smallest value; dismissed pairs get no row. The
fuzzy rules are found as customers are next written, or at once by `estatecrm dedup scan --rules all`."""

from django.db import migrations
from django.db.models import Count, Exists, OuterRef

CHUNK = 900
DEFAULT_THRESHOLD = 5
EXACT_RULES = ("phone", "email")


def compute(apps, schema_editor):
    ContactPoint = apps.get_model("crm", "ContactPoint")
    Customer = apps.get_model("crm", "Customer")
    Case = apps.get_model("crm", "Case")
    DuplicateCandidate = apps.get_model("crm", "DuplicateCandidate")
    DuplicateDismissal = apps.get_model("crm", "DuplicateDismissal")
    DuplicateSettings = apps.get_model("crm", "DuplicateSettings")
    SharedContactValue = apps.get_model("crm", "SharedContactValue")
    # The historical managers are the plain ones: every query names its company.
    for company_id in ContactPoint.objects.exclude(normalized="").values_list("company_id", flat=True).distinct().order_by():
        settings = DuplicateSettings.objects.filter(company_id=company_id).first()
        threshold = settings.shared_threshold if settings else DEFAULT_THRESHOLD
        rules = [rule for rule in EXACT_RULES if settings is None or rule in settings.enabled_rules]
        if not rules:
            continue
        live = Exists(Customer.objects.filter(pk=OuterRef("customer_id"), deleted_at__isnull=True))
        markings = dict(SharedContactValue.objects.filter(company_id=company_id).values_list("normalized", "marking"))
        held = (ContactPoint.objects.filter(company_id=company_id).exclude(normalized="").filter(live).values("normalized")
                .annotate(customers=Count("customer_id", distinct=True)).filter(customers__gte=2).values_list("normalized", "customers"))
        values = sorted(value for value, customers in held
                        if markings.get(value) != "shared" and (customers < threshold or markings.get(value) == "personal"))
        matches: dict[tuple[int, int, str], str] = {}
        for start in range(0, len(values), CHUNK):
            holders: dict[str, dict[int, str]] = {}
            for value, customer_id, kind in (ContactPoint.objects.filter(company_id=company_id, normalized__in=values[start:start + CHUNK])
                                             .filter(live).values_list("normalized", "customer_id", "kind")):
                holders.setdefault(value, {}).setdefault(customer_id, "email" if kind == "email" else "phone")
            for value in sorted(holders):
                customers = sorted(holders[value].items())
                for index, (low, rule) in enumerate(customers):
                    for high, _rule in customers[index + 1:]:
                        if rule in rules and (low, high, rule) not in matches:
                            matches[(low, high, rule)] = value
        customer_ids = sorted({customer for low, high, _rule in matches for customer in (low, high)})
        cases_of: dict[int, list[int]] = {}
        for start in range(0, len(customer_ids), CHUNK):
            for customer_id, case_id in Case.objects.filter(company_id=company_id, customer_id__in=customer_ids[start:start + CHUNK],
                                                            deleted_at__isnull=True).values_list("customer_id", "pk"):
                cases_of.setdefault(customer_id, []).append(case_id)
        dismissed = set(DuplicateDismissal.objects.filter(company_id=company_id).values_list("case_a_id", "case_b_id"))
        pairs: dict[tuple[int, int, str], str] = {}
        for (low, high, rule), key in matches.items():
            for case_x in cases_of.get(low, ()):
                for case_y in cases_of.get(high, ()):
                    pair = (*sorted((case_x, case_y)), rule)
                    if (pair[0], pair[1]) not in dismissed and (pair not in pairs or key < pairs[pair]):
                        pairs[pair] = key
        DuplicateCandidate.objects.filter(company_id=company_id, rule__in=rules).delete()
        DuplicateCandidate.objects.bulk_create([DuplicateCandidate(company_id=company_id, case_a_id=a, case_b_id=b, rule=rule, score=1.0, key=key)
                                                for (a, b, rule), key in sorted(pairs.items())], batch_size=2000)
        flagged = sorted({case for a, b, _rule in pairs for case in (a, b)})
        Case.objects.filter(company_id=company_id, has_duplicates=True).update(has_duplicates=False)
        for start in range(0, len(flagged), CHUNK):
            Case.objects.filter(company_id=company_id, pk__in=flagged[start:start + CHUNK]).update(has_duplicates=True)


class Migration(migrations.Migration):
    dependencies = [("crm", "0021_duplicate_rules_name_birth")]

    operations = [migrations.RunPython(compute, migrations.RunPython.noop, elidable=True)]
