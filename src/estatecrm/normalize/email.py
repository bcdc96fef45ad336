"""E-mail addresses: trimmed, NFKC (full-width ＠ and letters to ASCII), lower-cased, validated."""

import ipaddress
import re
import unicodedata

from estatecrm.normalize.result import Result

# What Django 5.2's EmailValidator accepts, rebuilt here because this package cannot import Django:
# a dot-atom or quoted-string local part; a domain of labels (letters incl. any non-ASCII letter,
# digits, inner hyphens) ending in a letter TLD or a punycode label, or an IPv4/IPv6 literal.
# Stored values therefore always pass the EmailField of the Django layer.
_LOCAL_PART = re.compile(
    r"(^[-!#$%&'*+/=?^_`{}|~0-9A-Z]+(\.[-!#$%&'*+/=?^_`{}|~0-9A-Z]+)*\Z"
    r'|^"([\001-\010\013\014\016-\037!#-\[\]-\177]|\\[\001-\011\013\014\016-\177])*"\Z)',
    re.IGNORECASE,
)
_UNICODE_LETTERS = "\u00a1-\uffff"
_DOMAIN = re.compile(
    rf"^[a-z{_UNICODE_LETTERS}0-9](?:[a-z{_UNICODE_LETTERS}0-9-]{{0,61}}[a-z{_UNICODE_LETTERS}0-9])?"
    rf"(?:\.(?!-)[a-z{_UNICODE_LETTERS}0-9-]{{1,63}}(?<!-))*"
    rf"\.(?!-)(?:[a-z{_UNICODE_LETTERS}-]{{2,63}}|xn--[a-z0-9]{{1,59}})(?<!-)\Z",
    re.IGNORECASE,
)
_ADDRESS_LITERAL = re.compile(r"\[([A-F0-9:.]+)\]\Z", re.IGNORECASE)
# Django allows 320 characters; the stored column (ContactPoint.normalized) and SMTP's path limit
# (RFC 5321) hold 254.
MAX_LENGTH = 254


def normalize_email(raw: str) -> Result[str]:
    """The address trimmed (incl. U+3000), NFKC-folded and lower-cased when it is valid, else
    `empty` or `invalid_email`.

    Dots and `+tags` are kept: removing them is not safe for every provider. The domain is kept
    as typed (an IDN stays in Unicode). Never raises.
    """
    if not raw:
        return Result.invalid("empty")
    address = unicodedata.normalize("NFKC", str(raw)).strip().lower()
    if not address:
        return Result.invalid("empty")
    if len(address) > MAX_LENGTH or "@" not in address:
        return Result.invalid("invalid_email")
    local_part, domain = address.rsplit("@", 1)
    if not _LOCAL_PART.match(local_part) or not _is_valid_domain(domain):
        return Result.invalid("invalid_email")
    return Result.ok(address)


def _is_valid_domain(domain: str) -> bool:
    # Django also allows "localhost"; a customer's address never lives there.
    if _DOMAIN.match(domain):
        return True
    literal = _ADDRESS_LITERAL.match(domain)
    if literal is None:
        return False
    try:
        ipaddress.ip_address(literal[1])
    except ValueError:
        return False
    return True
