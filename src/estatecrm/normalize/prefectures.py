"""The 47 prefectures, stored in full (`東京都`, `大阪府`, `北海道`, `神奈川県`)."""

import re
import unicodedata

from estatecrm.normalize.result import Result

# JIS X 0401 order (the order of prefecture codes 01-47), which is how Japanese forms list them.
PREFECTURES = (
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県", "茨城県", "栃木県", "群馬県", "埼玉県", "千葉県",
    "東京都", "神奈川県", "新潟県", "富山県", "石川県", "福井県", "山梨県", "長野県", "岐阜県", "静岡県", "愛知県", "三重県",
    "滋賀県", "京都府", "大阪府", "兵庫県", "奈良県", "和歌山県", "鳥取県", "島根県", "岡山県", "広島県", "山口県", "徳島県",
    "香川県", "愛媛県", "高知県", "福岡県", "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県", "鹿児島県", "沖縄県",
)  # fmt: skip
# `東京` for `東京都`; 北海道 has no suffix to drop (道 is part of the name as people say it).
_BY_NAME = {name: name for name in PREFECTURES} | {
    name[:-1]: name for name in PREFECTURES if name != "北海道"
}
_SPACES = re.compile(r"\s+")


def normalize_prefecture(raw: str) -> Result[str]:
    """The full prefecture name for `東京`, `東京都`, `　東京都 `, ...; `empty`, or
    `invalid_prefecture` for anything that is not one of the 47. Idempotent, never raises."""
    if raw is None:
        return Result.invalid("empty")
    text = _SPACES.sub("", unicodedata.normalize("NFKC", str(raw)))
    if not text:
        return Result.invalid("empty")
    name = _BY_NAME.get(text)
    return Result.ok(name) if name is not None else Result.invalid("invalid_prefecture")


def split_prefecture(address: str) -> tuple[str, str]:
    """(`東京都`, `渋谷区渋谷1-1`) for an address that starts with a full prefecture name,
    (``, address) otherwise; both parts trimmed. Never raises."""
    text = (address or "").strip()
    for name in PREFECTURES:
        if text.startswith(name):
            return name, text[len(name) :].strip()
    return "", text
