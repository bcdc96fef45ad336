"""The failed-rows file: each failing row's original cells plus a Japanese reason per field."""

import codecs
import csv
import io
from collections.abc import Iterable

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from estatecrm.core.pagination import InvalidInput
from estatecrm.leads import error_codes
from estatecrm.normalize import neutralize_formula
from estatecrm.pipeline.models import RowIssue, Run

ERROR_COLUMN = "エラー内容"
# The encodings a failed-rows file can be written in, and the charset its download is labelled with.
FAILED_ROWS_CHARSETS = {"utf-8-sig": "utf-8", "utf-8": "utf-8", "cp932": "shift_jis", "utf-16": "utf-16"}
FAILED_ROWS_ENCODINGS = tuple(FAILED_ROWS_CHARSETS)
REASON_MESSAGES = {
    "lead_name_missing": _("The lead name is empty."),
    "contact_name_missing": _("The contact name is empty."),
    "phone_missing": _("The phone number is empty."),
    "phone_invalid": _("The phone number is not valid."),
    "email_invalid": _("The e-mail address is not valid."),
    "custom_value_invalid": _("The value does not fit the custom field."),
    "postal_code_invalid": _("The postal code is not valid (7 digits)."),
    "prefecture_invalid": _("The prefecture is not one of the 47 prefectures."),
    "assignee_unknown": _("No active user has this assignee e-mail address."),
    "too_long": _("A value is longer than its field can hold."),
    "date_invalid": _("The date is not valid (e.g. 2024/4/1, R6.4.1, 令和6年4月1日)."),
    "case_kind_invalid": _("The case kind must be 賃貸 or 売買."),
    "customer_kind_invalid": _("The customer kind must be 個人, 世帯 or 法人."),
}


def reason_message(code: str, field: str = "") -> str:
    """The translated reason of a failure code; for `too_long` of a known field, with its limit."""
    if code == "too_long" and field:
        from estatecrm.leads.converter import max_lengths

        limit = max_lengths().get(field)
        if limit is not None:
            return _("Longer than %(max_length)d characters.") % {"max_length": limit}
    message = REASON_MESSAGES.get(code)
    return str(message) if message else code


def reason_text(field_label: str, code: str, field: str = "") -> str:
    return f"{field_label}: {reason_message(code, field)}"


def failed_rows(run: Run) -> Iterable[tuple[int, list, list[tuple[str, str]]]]:
    """(row number, original cells, [(field, code)]) per failed row, in file order."""
    current, cells, problems = None, None, []
    issues = RowIssue.objects.for_company(run.company_id).filter(run=run, is_failure=True).order_by("row_number", "pk")
    for issue in issues.iterator(chunk_size=2000):
        if issue.row_number != current:
            if current is not None:
                yield current, cells, problems
            current, cells, problems = issue.row_number, issue.cells or [], []
        problems.append((issue.field, issue.code))
    if current is not None:
        yield current, cells, problems


def check_failed_rows_encoding(encoding: str | None) -> str | None:
    """The asked encoding in its canonical spelling (None: the source file's); InvalidInput (422) for any other."""
    if not encoding:
        return None
    canonical = encoding.strip().lower().replace("_", "-")
    if canonical not in FAILED_ROWS_CHARSETS:
        message = _("Choose one of: %(encodings)s.") % {"encodings": ", ".join(FAILED_ROWS_ENCODINGS)}
        raise InvalidInput(error_codes.UNKNOWN_ENCODING, message, fields={"encoding": [message]})
    return canonical


def write_failed_rows(run: Run, handle, *, encoding: str | None = None, language: str = "ja") -> dict:
    """Write the failed rows as CSV to a binary `handle`, in the source file's encoding unless told.

    Returns {"rows": n, "encoding": ..., "charset": label for Content-Type, "replaced_characters": n};
    characters the encoding cannot hold (CP932 only) are replaced with `?` and counted, never dropped
    silently. Refuses (InvalidInput, nothing written) an encoding outside FAILED_ROWS_ENCODINGS.
    """
    encoding = check_failed_rows_encoding(encoding)
    source_encoding = (run.detected or {}).get("encoding") or ""
    if not encoding:
        encoding = "cp932" if source_encoding in {"cp932", "shift_jis", "sjis"} else "utf-8-sig"
    headers = list((run.detected or {}).get("headers") or [])
    labels = {value: key for key, value in (run.params.get("mapping") or {}).items()}
    field_headers = {key: header for header, key in labels.items()}
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    replaced = 0
    rows = 0
    # One incremental encoder for the whole file: one byte order mark (UTF-8-SIG, UTF-16) at its
    # start, not one per line.
    encoder = codecs.getincrementalencoder(encoding)(errors="replace")

    def emit(values):
        nonlocal replaced
        text.seek(0)
        text.truncate()
        writer.writerow([neutralize_formula(value) if isinstance(value, str) else value for value in values])
        chunk = text.getvalue()
        data = encoder.encode(chunk)
        if encoding == "cp932":
            replaced += sum(1 for character in chunk if not _encodable(character, encoding))
        handle.write(data)

    with translation.override(language):
        emit([*headers, ERROR_COLUMN])
        for _row_number, cells, problems in failed_rows(run):
            cells = [("" if cell is None else cell) for cell in cells]
            cells = cells + [""] * (len(headers) - len(cells))
            reasons = " / ".join(reason_text(field_headers.get(field, field), code, field) for field, code in problems)
            emit([*cells, reasons])
            rows += 1
    return {"rows": rows, "encoding": encoding, "charset": FAILED_ROWS_CHARSETS[encoding], "replaced_characters": replaced}


def _encodable(character: str, encoding: str) -> bool:
    try:
        character.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True
