"""The mapping step and the lead converter under any header list and any cells (hypothesis).

From the file's headers to one outcome per row: suggest a mapping, check it, turn it into column
indexes, convert every row. Whatever the headers (duplicates, blanks, look-alikes of the synonyms) and
cells (any text, numbers of any size, NaN, dates, booleans, None, rows shorter or longer than the
header), each row ends as exactly one lead or one list of row errors, and nothing raises.
"""

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from estatecrm.crm.choices import CustomFieldType
from estatecrm.leads.converter import FAILURE_CODES, LeadRow, convert_row
from estatecrm.leads.fields import CUSTOM_PREFIX, DEFAULT_FIELDS, REQUIRED_KEYS, lead_fields
from estatecrm.normalize import PREFECTURES
from estatecrm.normalize.tests.test_properties import ANY_CELL, EXAMPLES, HOSTILE_TEXT
from estatecrm.pipeline.mapping import check_mapping, column_indexes, suggest_mapping

SYNONYMS = [word for field in DEFAULT_FIELDS for word in (field.key, *field.synonyms)]
HEADER = st.sampled_from(SYNONYMS) | HOSTILE_TEXT | st.builds(lambda word, tail: word + tail, st.sampled_from(SYNONYMS), HOSTILE_TEXT)
CUSTOM_FIELDS = st.dictionaries(
    st.text(min_size=1, max_size=8),
    st.tuples(st.sampled_from(list(CustomFieldType.values)), st.lists(st.text(max_size=5), max_size=3)),
    max_size=3,
)
MAPPING_PROBLEMS = {"unknown_field", "unknown_header", "required_field_unmapped", "duplicate_header"}
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
POSTAL_CODE = re.compile(r"[0-9]{3}-[0-9]{4}")


@settings(max_examples=max(EXAMPLES * 4 // 5, 1), deadline=None)
@given(headers=st.lists(HEADER, max_size=14), custom_fields=CUSTOM_FIELDS, data=st.data())
def test_any_headers_and_cells_end_in_one_outcome_per_row(headers, custom_fields, data):
    # given: the fields of a project with these custom fields, and rows of any cells
    fields = lead_fields(custom_fields)
    rows = data.draw(st.lists(st.lists(ANY_CELL, max_size=len(headers) + 2).map(tuple), max_size=4))
    # when: the mapping step, as the import's dry run and run do it
    mapping = suggest_mapping(headers, fields)
    problems = check_mapping(mapping, headers, fields)
    columns = column_indexes(mapping, headers)
    leads = [convert_row(number, cells, columns, custom_fields) for number, cells in enumerate(rows, start=2)]
    # then: the mapping names known fields and headers of the file, each header at most once
    assert set(mapping) <= {field.key for field in fields}
    assert set(mapping.values()) <= set(headers)
    assert len(set(mapping.values())) == len(mapping)
    assert set(problems.values()) <= MAPPING_PROBLEMS
    assert {key for key, code in problems.items() if code == "required_field_unmapped"} == set(REQUIRED_KEYS) - set(mapping)
    assert all(headers[index] == mapping[key] for key, index in columns.items())
    # then: one outcome per row
    assert len(leads) == len(rows)
    for lead, cells in zip(leads, rows, strict=True):
        assert_one_outcome(lead, cells, columns)


@settings(max_examples=max(EXAMPLES * 4 // 5, 1), deadline=None)
@given(mapping=st.dictionaries(HOSTILE_TEXT, HOSTILE_TEXT, max_size=5), headers=st.lists(HOSTILE_TEXT, max_size=6))
def test_any_saved_mapping_is_checked_without_raising(mapping, headers):
    # given: a mapping as saved or posted (any keys, any headers), a file's headers
    fields = lead_fields(())
    # when
    problems = check_mapping(mapping, headers, fields)
    columns = column_indexes(mapping, headers)
    # then
    assert set(problems.values()) <= MAPPING_PROBLEMS
    assert all(key in problems for key in mapping if key not in {field.key for field in fields})
    assert all(0 <= index < len(headers) for index in columns.values())


def assert_one_outcome(lead: LeadRow, cells: tuple, columns: dict) -> None:
    assert isinstance(lead, LeadRow)
    assert lead.cells == cells
    field_keys = {field.key for field in DEFAULT_FIELDS} | {key for key in columns if key.startswith(CUSTOM_PREFIX)}
    assert all(key in field_keys and code in FAILURE_CODES for key, code in lead.errors), lead.errors
    if lead.is_valid:
        assert lead.lead_name and lead.contact_name and E164.fullmatch(lead.phone), lead
    for name in ("lead_name", "lead_key", "contact_name", "contact_kana", "phone_raw", "phone", "email_raw", "email",
                 "postal_code", "prefecture", "city", "street", "building", "homepage", "assignee_email"):
        value = getattr(lead, name)
        assert isinstance(value, str) and "\x00" not in value, (name, value)
    assert lead.postal_code == "" or POSTAL_CODE.fullmatch(lead.postal_code), lead.postal_code
    assert lead.prefecture == "" or lead.prefecture in PREFECTURES
