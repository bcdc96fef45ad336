import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estatecrm.normalize import PREFECTURES, Result, normalize_prefecture, split_prefecture


def test_the_47_prefectures_in_jis_order():
    assert len(PREFECTURES) == len(set(PREFECTURES)) == 47
    assert (PREFECTURES[0], PREFECTURES[12], PREFECTURES[13], PREFECTURES[25], PREFECTURES[26], PREFECTURES[46]) == (
        "北海道", "東京都", "神奈川県", "京都府", "大阪府", "沖縄県",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        # DOMAIN.md: stored in full
        ("東京", "東京都"), ("東京都", "東京都"), ("大阪", "大阪府"), ("大阪府", "大阪府"), ("北海道", "北海道"),
        ("神奈川", "神奈川県"), ("神奈川県", "神奈川県"), ("京都", "京都府"), ("鹿児島", "鹿児島県"),
        # spaces and width
        ("\u3000東京都 ", "東京都"), ("東　京", "東京都"),
    ],
)  # fmt: skip
def test_prefectures_are_stored_in_full(typed, stored):
    assert normalize_prefecture(typed) == Result.ok(stored)


@pytest.mark.parametrize("name", PREFECTURES)
def test_every_prefecture_with_or_without_its_suffix(name):
    assert normalize_prefecture(name) == Result.ok(name)
    if name != "北海道":
        assert normalize_prefecture(name[:-1]) == Result.ok(name)


@pytest.mark.parametrize(
    ("typed", "reason"),
    [("東京県", "invalid_prefecture"), ("北海", "invalid_prefecture"), ("渋谷区", "invalid_prefecture"),
     ("Tokyo", "invalid_prefecture"), ("", "empty"), ("\u3000", "empty"), (None, "empty")],
)  # fmt: skip
def test_unknown_prefectures_say_why(typed, reason):
    assert normalize_prefecture(typed) == Result.invalid(reason)


@pytest.mark.parametrize(
    ("address", "parts"),
    [("東京都渋谷区渋谷1-1", ("東京都", "渋谷区渋谷1-1")), ("京都府京都市", ("京都府", "京都市")),
     (" 北海道 札幌市 ", ("北海道", "札幌市")), ("渋谷区渋谷1-1", ("", "渋谷区渋谷1-1")), ("", ("", "")), (None, ("", ""))],
)  # fmt: skip
def test_split_prefecture(address, parts):
    assert split_prefecture(address) == parts


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=8) | st.sampled_from(PREFECTURES))
def test_never_raises_and_is_idempotent(text):
    result = normalize_prefecture(text)
    assert (result.value is None) == (result.reason is not None)
    if result.is_valid:
        assert normalize_prefecture(result.value) == result
        assert result.value in PREFECTURES
