"""LINE link numbers (LINE連携番号): every customer has one, unique in the company, eight digits.

A customer sends it to the office's LINE account so that their LINE friend is linked to their record
(名寄せ). Numbers come from a per-company serial through a one-to-one map (multiply by a step that
shares no factor with 10**8, add the company's random offset, modulo 10**8): no two customers of a
company ever get the same number, with no lookup, and the numbers neither count up nor tell how many
customers the company has. Every writer of customers takes its numbers here, one or a whole batch."""

import secrets

from django.db.models import F

from estatecrm.crm.models import LinkNumberSequence

LINK_NUMBER_DIGITS = 8
LINK_NUMBER_SPACE = 10**LINK_NUMBER_DIGITS
# Odd and not a multiple of 5: coprime with 10**8, so serial -> number is a bijection on [0, 10**8).
LINK_NUMBER_STEP = 61_803_397


def link_number(serial: int, offset: int) -> str:
    return f"{(serial * LINK_NUMBER_STEP + offset) % LINK_NUMBER_SPACE:0{LINK_NUMBER_DIGITS}d}"


def allocate_link_numbers(company_id: int, count: int) -> list[str]:
    """`count` new LINE link numbers of the company. Call inside the write transaction (as
    crm.case_numbers.allocate_case_numbers: the UPDATE holds the sequence row until commit)."""
    if count <= 0:
        return []
    rows = LinkNumberSequence.objects.for_company(company_id)
    while True:
        if rows.update(last_serial=F("last_serial") + count):
            last, offset = rows.values_list("last_serial", "offset").get()
            return [link_number(serial, offset) for serial in range(last - count + 1, last + 1)]
        LinkNumberSequence.objects.bulk_create(
            [LinkNumberSequence(company_id=company_id, last_serial=0, offset=secrets.randbelow(LINK_NUMBER_SPACE))],
            ignore_conflicts=True)


def normalize_link_number(text: str) -> str | None:
    """The link number in what a customer typed (`1234 5678`, `１２３４５６７８`, `No.12345678`), or None."""
    import unicodedata

    digits = "".join(ch for ch in unicodedata.normalize("NFKC", text or "") if ch.isdigit())
    return digits if len(digits) == LINK_NUMBER_DIGITS and digits.isascii() else None
