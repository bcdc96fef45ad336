"""Building contact points from raw text: the raw value is always kept, the normalized one when valid."""

from estatecrm.crm.choices import PHONE_KINDS, ContactPointKind
from estatecrm.crm.models import ContactPoint
from estatecrm.normalize import normalize_email, normalize_phone


def build_contact_point(*, contact, kind: str, raw: str, region: str = "JP", position: int = 0) -> ContactPoint:
    """An unsaved ContactPoint for `raw`, normalized for its kind (E.164 phone, lower-case e-mail)."""
    raw = (raw or "").strip()
    result = normalize_email(raw) if kind == ContactPointKind.EMAIL else normalize_phone(raw, region)
    return ContactPoint(
        company_id=contact.company_id,
        contact=contact,
        customer_id=contact.customer_id,
        kind=kind,
        raw=raw[:300],
        normalized=result.value or "" if result.is_valid else "",
        invalid_reason="" if result.is_valid else (result.reason or ""),
        position=position,
    )


def is_phone_kind(kind: str) -> bool:
    return kind in PHONE_KINDS
