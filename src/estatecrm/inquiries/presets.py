"""Built-in label maps (docs/inquiries.md). A source's own `labels` are added to its preset's.

Labels are compared after NFKC and without spaces (inquiries/mail.py), so one spelling covers
`名前(カナ)` and `名前（カナ）`, `TEL` and `ＴＥＬ`; a longer label wins over a shorter one it starts
with (`お名前(フリガナ)` before `お名前`).

`suumo`: リクルートJDS 「反響お知らせメール」 (sender `system@jds.suumo.jp`, subject
`[リクルートＪＤＳ]反響お知らせメール`). With customer details (「希望する(反響情報あり)」) the body
has a head (the office, 反響到着日時, the office's JDS `ID`, 連番, お問合せ企画), the block
問合せ物件 (物件種別, 物件コード, 物件名, 最寄り駅 `路線/駅` with the walk, 所在地, 賃料 for rent
or 価格 for sale, 間取り, 専有面積 or 建物面積, 物件詳細画面) and the block お客様プロフィール
(名前(漢字), 名前(カナ), メールアドレス, TEL, お問合せ内容; the sales variant writes 氏名(漢字),
氏名(カナ), 電話番号). `連番` is the inquiry's number at SUUMO; `ID` is the office's JDS account,
not the inquiry's, so it is not read.

`website`: the office's own inquiry form, as the usual Japanese form mailers write it
(お名前 / フリガナ / 電話番号 / メールアドレス / お問い合わせ内容 ...).
"""

from estatecrm.inquiries.choices import Preset

PRESETS: dict[str, dict[str, str]] = {
    Preset.SUUMO: {
        # head
        "連番": "inquiry_id",
        "お問合せ番号": "inquiry_id",
        "問合せ番号": "inquiry_id",
        "反響番号": "inquiry_id",
        "反響到着日時": "received_at",
        "反響日時": "received_at",
        "お問合せ日時": "received_at",
        "問合せ日時": "received_at",
        "お問合せ種別": "inquiry_type",
        "問合せ種別": "inquiry_type",
        "お問合せ企画": "inquiry_type",
        # 問合せ物件
        "物件コード": "listing_ref",
        "SUUMO物件コード": "listing_ref",
        "物件名": "listing_name",
        "最寄り駅": "listing_station",
        "最寄駅": "listing_station",
        "所在地": "listing_address",
        "賃料": "listing_price",
        "価格": "listing_price",
        "販売価格": "listing_price",
        "間取り": "listing_layout",
        "専有面積": "listing_area",
        "建物面積": "listing_area",
        # お客様プロフィール
        "名前(漢字)": "customer_name",
        "氏名(漢字)": "customer_name",
        "名前(カナ)": "customer_kana",
        "氏名(カナ)": "customer_kana",
        "メールアドレス": "email",
        "TEL": "phone",
        "電話番号": "phone",
        "入居希望時期": "desired_move_in",
        "入居時期": "desired_move_in",
        "お問合せ内容": "message",
        "問合せ内容": "message",
        "その他ご要望": "message",
    },
    Preset.WEBSITE: {
        "お問い合わせ番号": "inquiry_id",
        "受付番号": "inquiry_id",
        "受付日時": "received_at",
        "送信日時": "received_at",
        "お問い合わせ種別": "inquiry_type",
        "お問い合わせ項目": "inquiry_type",
        "ご用件": "inquiry_type",
        "お名前": "customer_name",
        "氏名": "customer_name",
        "お名前(フリガナ)": "customer_kana",
        "お名前(カナ)": "customer_kana",
        "フリガナ": "customer_kana",
        "ふりがな": "customer_kana",
        "電話番号": "phone",
        "お電話番号": "phone",
        "TEL": "phone",
        "メールアドレス": "email",
        "E-mail": "email",
        "物件番号": "listing_ref",
        "物件名": "listing_name",
        "お問い合わせ物件": "listing_name",
        "ご希望の入居時期": "desired_move_in",
        "入居希望時期": "desired_move_in",
        "お問い合わせ内容": "message",
        "ご質問・ご要望": "message",
        "ご要望": "message",
    },
}


def preset_labels(preset: str) -> dict[str, str]:
    return dict(PRESETS.get(preset, {}))
