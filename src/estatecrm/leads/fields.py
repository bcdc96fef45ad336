"""The fields a lead list maps to: the default fields and a project's custom fields."""

from django.utils.translation import gettext_lazy as _

from estatecrm.pipeline.mapping import FieldSpec

CUSTOM_PREFIX = "custom:"
# A column kept as a note on the case (other_info), one key per column: `note:<header>`.
NOTE_PREFIX = "note:"
# A column kept in a custom field made for it (name: the header) when the import starts: `new_custom:<header>`.
NEW_CUSTOM_PREFIX = "new_custom:"

DEFAULT_FIELDS = (
    # Not required: a list of people leaves it unmapped, and each lead is named after its contact.
    FieldSpec("lead_name", _("Lead name"), ("リード名", "会社名", "世帯名", "法人名", "社名", "企業名", "屋号", "顧客名", "company", "lead")),
    FieldSpec("contact_name", _("Contact name"), ("連絡先名", "担当者", "担当者名", "氏名", "お名前", "名前", "連絡先", "contact", "name"), True),
    FieldSpec("phone", _("Phone"), ("電話番号", "電話", "TEL", "携帯", "携帯電話", "phone", "mobile"), True),
    FieldSpec("contact_kana", _("Contact reading"), ("フリガナ", "ふりがな", "カナ", "よみ", "kana", "reading")),
    FieldSpec("postal_code", _("Postal code"), ("郵便番号", "〒", "zip", "postal")),
    FieldSpec("prefecture", _("Prefecture"), ("都道府県", "県", "prefecture")),
    FieldSpec("city", _("City"), ("市区町村", "市町村", "city")),
    FieldSpec("street", _("Street and number"), ("番地", "町域番地", "住所", "町名番地", "street", "address")),
    FieldSpec("building", _("Building"), ("建物名", "建物", "マンション名", "building")),
    FieldSpec("email", _("E-mail"), ("メールアドレス", "メール", "E-mail", "mail", "email")),
    FieldSpec("homepage", _("Homepage"), ("ホームページ", "HP", "URL", "ウェブサイト", "website", "homepage")),
    FieldSpec("assignee_email", _("Assignee e-mail"), ("担当者メール", "担当メール", "担当者メールアドレス", "assignee")),
    FieldSpec("first_inquiry_date", _("First inquiry date"), ("反響日", "問合せ日", "問い合わせ日", "お問い合わせ日", "反響日時", "受付日")),
    FieldSpec("first_inquiry_source", _("First inquiry medium"), ("反響媒体", "媒体", "反響元", "流入元")),
    FieldSpec("birth_date", _("Date of birth"), ("生年月日", "誕生日", "birthday", "birth date")),
    FieldSpec("note", _("Remarks"), ("備考", "メモ", "特記事項", "note", "remarks")),
    # Per row, these win over the kinds the import creates (賃貸 / 売買, 個人 / 法人).
    FieldSpec("case_kind", _("Case kind"), ("案件種別", "賃貸売買", "売買賃貸", "case kind")),
    FieldSpec("customer_kind", _("Customer kind"), ("顧客種別", "個人法人", "法人個人", "customer kind")),
)
DEFAULT_KEYS = tuple(field.key for field in DEFAULT_FIELDS)
REQUIRED_KEYS = ("contact_name", "phone")


def lead_fields(custom_field_names=(), mapping=None) -> list[FieldSpec]:
    """Default fields, then one `custom:<name>` field per custom field linked to the project, then the
    columns `mapping` keeps as notes or in new custom fields (their keys name the column)."""
    # Labels are translated now, in the language of the request or command (not at import).
    fields = [FieldSpec(field.key, str(field.label), field.synonyms, field.is_required) for field in DEFAULT_FIELDS]
    fields += [FieldSpec(f"{CUSTOM_PREFIX}{name}", name, (name,)) for name in custom_field_names]
    fields += [FieldSpec(key, key.partition(":")[2]) for key in (mapping or {}) if is_column_key(key)]
    return fields


def is_column_key(key: str) -> bool:
    """A key made for one column (a note, a new custom field), not a field chosen from a list."""
    return key.startswith((NOTE_PREFIX, NEW_CUSTOM_PREFIX)) and bool(key.partition(":")[2])

# Where each default field's value is stored: (app label, model, column). The column's max_length is the
# longest value the field takes (a longer one fails its row, never the run: PostgreSQL refuses it, SQLite
# would store it). Read from the model, so a changed column changes the limit. `assignee_email` is only
# looked up; custom fields are stored in a JSON column without a length.
FIELD_COLUMNS = {
    "lead_name": ("crm", "Customer", "name"),
    "contact_name": ("crm", "Contact", "name"),
    "phone": ("crm", "ContactPoint", "raw"),
    "contact_kana": ("crm", "Contact", "kana"),
    "postal_code": ("crm", "Customer", "postal_code"),
    "prefecture": ("crm", "Customer", "prefecture"),
    "city": ("crm", "Customer", "city"),
    "street": ("crm", "Customer", "street"),
    "building": ("crm", "Customer", "building"),
    "email": ("crm", "ContactPoint", "raw"),
    "homepage": ("crm", "Customer", "homepage"),
    "first_inquiry_source": ("crm", "Case", "first_inquiry_source"),
}


def column_max_length(app_label: str, model_name: str, column: str) -> int:
    from django.apps import apps

    return apps.get_model(app_label, model_name)._meta.get_field(column).max_length


def field_max_lengths() -> dict[str, int]:
    """Field key -> the longest value its column holds."""
    return {key: column_max_length(*column) for key, column in FIELD_COLUMNS.items()}
