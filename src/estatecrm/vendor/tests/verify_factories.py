"""Move-ins for the verification tests: real rows as the loader writes them (vendor/choices.py conventions).

`make_loaded_move_in(company, started_by, tmp_path)` writes the JAPANESE template package as a ZIP into the
run's storage and the rows of its active phase, with one of each kind of outcome:

    agents:   sato loaded (a new user), suzuki skipped agent_exists (an existing user)
    listings: L-1001 loaded (98000 JPY), L-1002 failed invalid_value (price)
    seekers:  S-1 loaded (budget 80000–110000), S-2 loaded (budget –60000000)
    links:    S-1:L-1001:viewed loaded, S-2:L-1002:introduced skipped listing_not_loaded
"""

import secrets
from decimal import Decimal
from pathlib import Path

from django.core.files import File
from django.utils import timezone

from estatecrm.core import testing
from estatecrm.crm.choices import CaseKind
from estatecrm.crm.models import DesiredConditions, Introduction, Listing, ListingStation
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.models import Run
from estatecrm.tenancy.models import Membership
from estatecrm.vendor.choices import RUN_KIND, Outcome
from estatecrm.vendor.models import MoveIn, RecordOutcome
from estatecrm.vendor.tests.packages import template_package

SOURCE = {
    "agents": {"count": 2, "money": {}},
    "listings": {"count": 2, "money": {"amount": "58098000"}},
    "seekers": {"count": 2, "money": {"budget_min": "80000", "budget_max": "60110000"}},
    "links": {"count": 2, "money": {}},
}
COUNTS = {
    "agents:loaded": 1, "agents:skipped": 1, "agents:skipped:agent_exists": 1,
    "listings:loaded": 1, "listings:failed": 1, "listings:failed:invalid_value": 1,
    "seekers:loaded": 2,
    "links:loaded": 1, "links:skipped": 1, "links:skipped:listing_not_loaded": 1,
    "failed": 1,
}


def make_run(company, started_by, *, phase: str = "active", status: str = RunStatus.COMPLETED, move_in: MoveIn | None = None,
             package: Path | None = None, source: dict | None = None, counts: dict | None = None) -> Run:
    run = Run.objects.create(company=company, kind=RUN_KIND, status=status, token=secrets.token_hex(8), created_by=started_by,
                             source_name="esticrm-export.zip", params={"move_in_id": move_in.pk if move_in else None, "phase": phase},
                             detected={"source": SOURCE if source is None else source}, counts=COUNTS if counts is None else counts,
                             rows_total=8, rows_done=8 if status in RunStatus.finished() else 3, started_at=timezone.now(),
                             finished_at=timezone.now() if status in RunStatus.finished() else None)
    if package is not None:
        with open(package, "rb") as handle:
            run.source_file.save("esticrm-export.zip", File(handle), save=True)
    return run


def make_move_in(company, started_by, **fields) -> MoveIn:
    values = {"vendor": "EstiCRM", "profile": "template", "package_name": "esticrm-export.zip", "region": "JP", "currency": "JPY"}
    return MoveIn.objects.create(company=company, created_by=started_by, **{**values, **fields})


def outcome(run: Run, entity: str, position: int, source_id: str, result: str, *, reason: str = "", target=None, row: int | None = None,
            detail: str = "") -> RecordOutcome:
    target_type = {"agents": "tenancy.user", "listings": "crm.listing", "seekers": "crm.case", "activities": "crm.activity",
                   "links": "crm.introduction"}[entity] if target is not None else ""
    return RecordOutcome.objects.create(company_id=run.company_id, run=run, entity=entity, position=position,
                                        row_number=row if row is not None else position + 2, source_id=source_id, outcome=result, reason=reason,
                                        detail=detail, target_type=target_type, target_id=target.pk if target is not None else None)


def make_loaded_move_in(company, started_by, tmp_path: Path, *, unit=None, status: str = RunStatus.COMPLETED) -> MoveIn:
    """A move-in whose active phase ran (see the module's docstring)."""
    unit = unit or Membership.objects.for_company(company).filter(user=started_by).first().org_unit
    move_in = make_move_in(company, started_by)
    package = template_package(tmp_path / "esticrm-export.zip", as_zip=True)
    run = make_run(company, started_by, move_in=move_in, package=package, status=status)
    move_in.active_run = run
    move_in.save(update_fields=["active_run"])

    sato = testing.make_user(company, unit, email="sato@demo.example.jp", name="佐藤 花子")
    sato.is_active = False
    sato.save(update_fields=["is_active"])
    suzuki = testing.make_user(company, unit, email="suzuki@demo.example.jp", name="鈴木 一郎")
    outcome(run, "agents", 0, "sato@demo.example.jp", Outcome.LOADED, target=sato)
    outcome(run, "agents", 1, "suzuki@demo.example.jp", Outcome.SKIPPED, reason="agent_exists", target=suzuki)

    listing = Listing.objects.create(company=company, ref="L-1001", name="メゾン代々木 203", kind=CaseKind.RENT, amount=Decimal("98000"),
                                     currency="JPY", rent=Decimal("9.8"), layout="1LDK", area=Decimal("35.5"), postal_code="151-0053",
                                     city="渋谷区", street="代々木1-2-3", agent=sato)
    ListingStation.objects.create(company=company, listing=listing, station="代々木", walk_minutes=5, position=0)
    outcome(run, "listings", 0, "L-1001", Outcome.LOADED, target=listing)
    outcome(run, "listings", 1, "L-1002", Outcome.FAILED, reason="invalid_value", detail="price: 58000000")

    case_1 = testing.make_case(company, unit, main_assignee=sato, customer_name="山田 太郎", phones=(("mobile", "090-1234-5678"),),
                               emails=("taro.yamada@example.com",))
    DesiredConditions.objects.for_company(company).filter(case=case_1).update(currency="JPY", budget_min=Decimal("80000"), budget_max=Decimal("110000"),
                                                         areas=["渋谷区", "新宿区"], layouts=["1LDK", "2DK"])
    case_2 = testing.make_case(company, unit, main_assignee=suzuki, customer_name="高橋 美咲", phones=(("phone", "03-5555-1234"),),
                               emails=("misaki@example.jp",), kind=CaseKind.BUY)
    DesiredConditions.objects.for_company(company).filter(case=case_2).update(currency="JPY", budget_max=Decimal("60000000"), areas=["中野区"], layouts=["3LDK"])
    outcome(run, "seekers", 0, "S-1", Outcome.LOADED, target=case_1)
    outcome(run, "seekers", 1, "S-2", Outcome.LOADED, target=case_2)

    introduction = Introduction.objects.create(company=company, case=case_1, listing=listing, listing_ref="L-1001", listing_name="メゾン代々木 203",
                                               introduced_on=timezone.localdate())
    outcome(run, "links", 0, "S-1:L-1001:viewed", Outcome.LOADED, target=introduction)
    outcome(run, "links", 1, "S-2:L-1002:introduced", Outcome.SKIPPED, reason="listing_not_loaded")
    return move_in
