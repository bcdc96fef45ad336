"""Plain text cells: cleaned on the way in, formulas neutralized on the way out to a spreadsheet."""

# A cell starting with one of these is run as a formula by Excel or LibreOffice (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralize_formula(value: str) -> str:
    """`value` with `'` prefixed when a spreadsheet would take it for a formula (it starts with `=`,
    `+`, `-`, `@`, tab or CR), unchanged otherwise. Use on every text cell written for Excel users."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def clean_text(raw: str | None) -> str:
    """`raw` without NUL bytes (PostgreSQL refuses them) and without surrounding whitespace,
    U+3000 included; NFKC is not applied (free text keeps what was typed). None gives ``."""
    if raw is None:
        return ""
    return str(raw).replace("\x00", "").strip()
