"""Built-in label maps (docs/inquiries.md). A source's own `labels` are added to its preset's.

`suumo`: リクルートJDS 「反響お知らせメール」 (with customer details: 「希望する(反響情報あり)」), blocks
問合せ物件 and お客様プロフィール. `website`: the office's own inquiry form (the labels its form mails use).
"""

from estatecrm.inquiries.choices import Preset

PRESETS: dict[str, dict[str, str]] = {
    Preset.SUUMO: {
        "お問合せ番号": "inquiry_id",
        "問合せ番号": "inquiry_id",
        "反響番号": "inquiry_id",
        "お問合せ日時": "received_at",
        "問合せ日時": "received_at",
        "反響日時": "received_at",
        "お問合せ種別": "inquiry_type",
        "問合せ種別": "inquiry_type",
        "物件コード": "listing_ref",
        "物件番号": "listing_ref",
        "SUUMO物件コード": "listing_ref",
        "物件名": "listing_name",
        "最寄り駅": "listing_station",
        "所在地": "listing_address",
        "賃料": "listing_price",
        "価格": "listing_price",
        "間取り": "listing_layout",
        "専有面積": "listing_area",
        "名前(漢字)": "customer_name",
        "名前(カナ)": "customer_kana",
        "メールアドレス": "email",
        "TEL": "phone",
        "電話番号": "phone",
        "入居希望時期": "desired_move_in",
        "お問合せ内容": "message",
    },
    Preset.WEBSITE: {
        "お問い合わせ番号": "inquiry_id",
        "受付番号": "inquiry_id",
        "受付日時": "received_at",
        "お問い合わせ種別": "inquiry_type",
        "お名前": "customer_name",
        "氏名": "customer_name",
        "フリガナ": "customer_kana",
        "ふりがな": "customer_kana",
        "電話番号": "phone",
        "メールアドレス": "email",
        "物件番号": "listing_ref",
        "物件名": "listing_name",
        "ご希望の入居時期": "desired_move_in",
        "お問い合わせ内容": "message",
        "ご質問・ご要望": "message",
    },
}


def preset_labels(preset: str) -> dict[str, str]:
    return dict(PRESETS.get(preset, {}))
