"""Case numbers (#): each company counts its own cases from 1, so a number never tells one company
how many cases the others have (the database id does, which is why pages show the number)."""

from django.db.models import F, Max

from estatecrm.crm.models import Case, CaseNumberSequence


def allocate_case_numbers(company_id: int, count: int) -> list[int]:
    """`count` new case numbers of the company, ascending, never handed out before. Call inside the
    write transaction: the UPDATE holds the company's sequence row until it commits, so a concurrent
    writer (another import's batch, a case typed on a page) waits and continues after these numbers.
    A rolled-back transaction gives its numbers back; a committed one never does (revert, trash, purge)."""
    if count <= 0:
        return []
    rows = CaseNumberSequence.objects.for_company(company_id)
    while True:
        if rows.update(last_number=F("last_number") + count):
            last = rows.values_list("last_number", flat=True).get()
            return list(range(last - count + 1, last + 1))
        # The company's first case (a company made after the backfill migration): start after any number
        # in use. Of two writers creating the row at once, one waits for the other and then updates it.
        highest = Case.objects.for_company(company_id).aggregate(highest=Max("number"))["highest"] or 0
        CaseNumberSequence.objects.bulk_create([CaseNumberSequence(company_id=company_id, last_number=highest)], ignore_conflicts=True)


def parse_case_number(text: str) -> int | None:
    """The case number in a search text (`#123`, `＃１２３` or `123`), or None when it is not one."""
    text = text.strip().translate(_FULL_WIDTH)
    if text.startswith("#"):
        text = text[1:].strip()
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        return None
    return int(text) or None


_FULL_WIDTH = str.maketrans("＃０１２３４５６７８９", "#0123456789")
