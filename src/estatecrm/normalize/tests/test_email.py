import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estatecrm.normalize import Result, normalize_email


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        # DOMAIN.md: trim (incl. U+3000), NFKC (＠ and full-width letters), lower-case
        (" Taro.Yamada@Example.JP ", "taro.yamada@example.jp"),
        ("\u3000TARO＠EXAMPLE.CO.JP\u3000", "taro@example.co.jp"),
        ("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ", "taro@example.jp"),
        ("Ｔａｒｏ．Ｙａｍａｄａ＠ｄｏｃｏｍｏ．ｎｅ．ｊｐ", "taro.yamada@docomo.ne.jp"),
        # dots and +tags are kept
        ("user+tag@gmail.com", "user+tag@gmail.com"),
        ("first.last@docomo.ne.jp", "first.last@docomo.ne.jp"),
        ("f.i.r.s.t@gmail.com", "f.i.r.s.t@gmail.com"),
        # what Django's EmailValidator also accepts
        ("o'brien@example.ie", "o'brien@example.ie"),
        ('"taro..yamada"@docomo.ne.jp', '"taro..yamada"@docomo.ne.jp'),
        ("taro@mail.例え.jp", "taro@mail.例え.jp"),
        ("taro@例え.テスト", "taro@例え.テスト"),
        ("taro@example.xn--zckzah", "taro@example.xn--zckzah"),
        ("taro@[192.168.0.1]", "taro@[192.168.0.1]"),
        ("taro@[2001:db8::1]", "taro@[2001:db8::1]"),
        ("taro@sub-domain.example.jp", "taro@sub-domain.example.jp"),
        ("taro@example.jp\r\n", "taro@example.jp"),
    ],
)
def test_addresses_are_trimmed_folded_and_lower_cased(typed, stored):
    assert normalize_email(typed) == Result.ok(stored)


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", "empty"),
        ("  ", "empty"),
        ("\u3000\u3000", "empty"),
        (None, "empty"),
        ("taro", "invalid_email"),
        ("taro@", "invalid_email"),
        ("@example.jp", "invalid_email"),
        ("a@b", "invalid_email"),
        ("a@example", "invalid_email"),
        ("a@localhost", "invalid_email"),  # Django allows it; no customer lives there
        ("a b@example.jp", "invalid_email"),
        ('"taro yamada"@example.jp', "invalid_email"),  # Django's quoted-string has no space either
        ("taro@exa mple.jp", "invalid_email"),
        ("a@@example.jp", "invalid_email"),
        (".taro@example.jp", "invalid_email"),
        ("taro.@docomo.ne.jp", "invalid_email"),  # old carrier addresses: Django refuses them too
        ("taro..yamada@docomo.ne.jp", "invalid_email"),
        ("taro@-example.jp", "invalid_email"),
        ("taro@example-.jp", "invalid_email"),
        ("taro@example.123", "invalid_email"),
        ("taro@example.j", "invalid_email"),
        ("taro@example..jp", "invalid_email"),
        ("taro@[999.1.1.1]", "invalid_email"),
        ("山田@example.jp", "invalid_email"),
        ("taro@exam\nple.jp", "invalid_email"),
        ("a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 63 + ".jp", "invalid_email"),  # 259 > 254
    ],
)
def test_invalid_addresses_say_why(typed, reason):
    assert normalize_email(typed) == Result.invalid(reason)


def test_longest_storable_address_is_accepted():
    address = "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 58 + ".jp"
    assert len(address) == 254
    assert normalize_email(address) == Result.ok(address)


@settings(max_examples=300, deadline=None)
@given(
    st.emails()
    | st.text(max_size=40)
    | st.from_regex(r"[a-zA-Zａ-ｚ0-9.+_-]{1,10}[@＠][a-z0-9.-]{1,12}", fullmatch=True)
)
def test_never_raises_and_normalized_addresses_normalize_to_themselves(text):
    result = normalize_email(text)
    assert (result.value is None) == (result.reason is not None)
    if result.is_valid:
        assert normalize_email(result.value) == result
        assert result.value == result.value.lower()
