import ast
import dataclasses
from pathlib import Path

import pytest

from estatecrm.normalize import MESSAGES, Result

PACKAGE = Path(__file__).resolve().parent.parent


def test_ok_and_invalid():
    assert (Result.ok("x").value, Result.ok("x").reason, Result.ok("x").is_valid) == ("x", None, True)
    assert (
        Result.invalid("empty").value,
        Result.invalid("empty").reason,
        Result.invalid("empty").is_valid,
    ) == (None, "empty", False)


def test_results_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Result.ok("x").value = "y"


def reason_codes_in_source() -> set[str]:
    """Every literal passed to Result.invalid(...) in the package's modules."""
    codes = set()
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "invalid"
            ):
                codes.update(arg.value for arg in node.args if isinstance(arg, ast.Constant))
            if (
                isinstance(node, ast.Return)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                codes.add(node.value.value)  # reason helpers return the code
    return codes


def test_every_reason_code_has_a_message():
    expected = {"empty", "too_short", "too_long", "not_a_number", "invalid_number", "invalid_email", "not_kana", "invalid_date",
                "outside_era", "unknown_era", "invalid_postal_code", "invalid_prefecture"}  # fmt: skip
    assert set(MESSAGES) == expected
    assert reason_codes_in_source() - {""} <= expected


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_messages_are_sentences(code):
    assert code.isidentifier() and code == code.lower()
    assert MESSAGES[code][0].isupper() and MESSAGES[code].endswith(".")
