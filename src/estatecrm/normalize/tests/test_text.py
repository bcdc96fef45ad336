import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estatecrm.normalize import clean_text, neutralize_formula


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ("=SUM(A1:A2)", "'=SUM(A1:A2)"),
        ("+81901234", "'+81901234"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("普通の文章", "普通の文章"),
        ("a=b", "a=b"),
        ("'=already", "'=already"),
        ("", ""),
    ],
)
def test_formula_cells_are_neutralized(cell, safe):
    assert neutralize_formula(cell) == safe


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("\u3000 山田\x00太郎 \u3000", "山田太郎"),
        ("a\x00b", "ab"),
        ("\n備考\r\n", "備考"),
        ("ＡＢＣ　１２３", "ＡＢＣ　１２３"),  # NFKC is not applied, inner spaces kept
        ("ﾔﾏﾀﾞ", "ﾔﾏﾀﾞ"),
        ("", ""),
        (None, ""),
    ],
)
def test_clean_text_strips_nul_and_surrounding_whitespace_only(raw, cleaned):
    assert clean_text(raw) == cleaned


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_text_functions_never_raise_and_are_idempotent(text):
    cleaned = clean_text(text)
    assert clean_text(cleaned) == cleaned
    assert "\x00" not in cleaned
    safe = neutralize_formula(text)
    assert neutralize_formula(safe) == safe
    assert not safe.startswith(("=", "+", "-", "@", "\t", "\r"))
