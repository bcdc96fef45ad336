"""Choice lists of the CRM (DOMAIN.md, "Real-estate vocabulary")."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

MAX_TAGS_PER_CASE = 10
MAX_SUB_ASSIGNEES_PER_CASE = 19


class CustomerKind(models.TextChoices):
    PERSON = "person", _("Person")
    HOUSEHOLD = "household", _("Household")
    COMPANY = "company", _("Company")


class Gender(models.TextChoices):
    MALE = "male", _("Male")
    FEMALE = "female", _("Female")


class CaseKind(models.TextChoices):
    RENT = "rent", _("Rent")
    BUY = "buy", _("Buy")


class CaseStatus(models.TextChoices):
    """The fixed statuses; values are the Japanese names that exports and sources use."""

    NEW = "新規", _("New")
    FOLLOWING = "追客中", _("Following up")
    APPLYING = "申込中", _("Applying")
    CONTRACTED = "契約済", _("Contracted")
    CLOSED = "追客終了", _("Closed")
    ON_HOLD = "保留", _("On hold")


class CaseOrigin(models.TextChoices):
    MANUAL = "manual", _("Manual entry")
    LEAD_IMPORT = "lead_import", _("Lead import")
    LEGACY_MIGRATION = "legacy_migration", _("Legacy migration")
    VENDOR_MIGRATION = "vendor_migration", _("Vendor migration")
    INQUIRY = "inquiry", _("Portal inquiry")
    LINE = "line", _("LINE")

    @classmethod
    def bulk_origins(cls) -> list[str]:
        """Origins that bring existing cases in; they are not new registrations."""
        return [cls.LEAD_IMPORT, cls.LEGACY_MIGRATION, cls.VENDOR_MIGRATION]


class ContactPointKind(models.TextChoices):
    PHONE = "phone", _("Phone")
    MOBILE = "mobile", _("Mobile phone")
    FAX = "fax", _("Fax")
    EMAIL = "email", _("E-mail")


PHONE_KINDS = (ContactPointKind.PHONE, ContactPointKind.MOBILE, ContactPointKind.FAX)


class WalkMinutes(models.IntegerChoices):
    MIN_1 = 1, _("Within 1 min")
    MIN_3 = 3, _("Within 3 min")
    MIN_5 = 5, _("Within 5 min")
    MIN_7 = 7, _("Within 7 min")
    MIN_10 = 10, _("Within 10 min")
    MIN_15 = 15, _("Within 15 min")
    MIN_20 = 20, _("Within 20 min")


class BuildingAge(models.IntegerChoices):
    """Years; 0 means newly built (新築)."""

    NEW = 0, _("Newly built")
    YEARS_1 = 1, _("Within 1 year")
    YEARS_3 = 3, _("Within 3 years")
    YEARS_5 = 5, _("Within 5 years")
    YEARS_7 = 7, _("Within 7 years")
    YEARS_10 = 10, _("Within 10 years")
    YEARS_15 = 15, _("Within 15 years")
    YEARS_20 = 20, _("Within 20 years")
    YEARS_25 = 25, _("Within 25 years")
    YEARS_30 = 30, _("Within 30 years")


def nearest_choice_at_least(value: int, choices: list[int]) -> int:
    """The smallest choice not below `value`, or the largest choice when `value` is above them all."""
    for choice in sorted(choices):
        if choice >= value:
            return choice
    return max(choices)


class Layout(models.TextChoices):
    ONE_ROOM = "ワンルーム", _("Studio (ワンルーム)")
    L1K = "1K", "1K"
    L1DK = "1DK", "1DK"
    L1LDK = "1LDK", "1LDK"
    L2K = "2K", "2K"
    L2DK = "2DK", "2DK"
    L2LDK = "2LDK", "2LDK"
    L3K = "3K", "3K"
    L3DK = "3DK", "3DK"
    L3LDK = "3LDK", "3LDK"
    L4K = "4K", "4K"
    L4DK = "4DK", "4DK"
    L4LDK = "4LDK", "4LDK"
    L5K_PLUS = "5K以上", _("5K or more")


class MoveIn(models.TextChoices):
    IMMEDIATE = "即入居", _("Immediately")
    MONTH_1 = "1ヶ月以内", _("Within 1 month")
    MONTHS_3 = "3ヶ月以内", _("Within 3 months")
    MONTHS_6 = "半年以内", _("Within 6 months")
    YEAR_1 = "1年以内", _("Within 1 year")
    UNDECIDED = "未定", _("Undecided")


class Feature(models.TextChoices):
    """Feature flags (こだわり条件) we support; values are the Japanese names."""

    SEPARATE_BATH_TOILET = "バス・トイレ別", _("Separate bath and toilet")
    SECOND_FLOOR_OR_ABOVE = "2階以上", _("2nd floor or above")
    PARKING = "駐車場あり", _("Parking")
    PETS_NEGOTIABLE = "ペット相談", _("Pets negotiable")
    AUTO_LOCK = "オートロック", _("Auto-lock entrance")
    INDOOR_WASHER = "室内洗濯機置場", _("Indoor washing machine space")
    AIR_CONDITIONER = "エアコン付き", _("Air conditioner")
    FLOORING = "フローリング", _("Wooden flooring")
    SOUTH_FACING = "南向き", _("South-facing")
    CORNER_ROOM = "角部屋", _("Corner room")
    DELIVERY_BOX = "宅配ボックス", _("Delivery box")
    SEPARATE_WASHBASIN = "独立洗面台", _("Separate washbasin")
    REHEATING_BATH = "追い焚き", _("Bath reheating")
    SYSTEM_KITCHEN = "システムキッチン", _("System kitchen")
    CITY_GAS = "都市ガス", _("City gas")
    ELEVATOR = "エレベーター", _("Elevator")
    NEW_BUILD = "新築", _("Newly built")
    CONDOMINIUM_TYPE = "分譲タイプ", _("Condominium-grade")
    INSTRUMENTS_NEGOTIABLE = "楽器相談", _("Musical instruments negotiable")
    OFFICE_USE = "事務所利用可", _("Office use allowed")
    NO_GUARANTOR = "保証人不要", _("No guarantor needed")
    NO_DEPOSIT_KEY_MONEY = "敷金礼金0", _("No deposit or key money")


# Bit of each feature in Listing.feature_bits, so "has every wanted feature" is one portable SQL test
# (`feature_bits & wanted = wanted`). Stored data depends on these numbers: never renumber, only append.
FEATURE_BITS = {feature.value: 1 << index for index, feature in enumerate(Feature)}


class ListingStatus(models.TextChoices):
    AVAILABLE = "available", _("Available")
    APPLIED = "applied", _("Application received")
    CONTRACTED = "contracted", pgettext_lazy("listing status", "Contracted")
    HIDDEN = "hidden", _("Not public")


class ActivityKind(models.TextChoices):
    CALL = "call", _("Phone call")
    EMAIL_OUT = "email_out", _("E-mail sent")
    EMAIL_IN = "email_in", _("E-mail received")
    VISIT = "visit", _("Office visit")
    SHOWING = "showing", _("Showing")
    VISIT_APPOINTMENT = "visit_appointment", _("Visit appointment")
    LINE = "line", _("LINE")
    NOTE = "note", _("Note")
    SYSTEM = "system", _("System event")
    # 反響: what a portal, the office's website or LINE brought in (inquiries/), written by the intake.
    INQUIRY = "inquiry", _("Inquiry")
    # 引継ぎメモ: the note an administrator writes once for every case of a transfer, retirement or reassignment.
    HANDOVER = "handover", _("Handover note")


# Kinds only the system writes (refused from the pages and the API's activity form).
SYSTEM_KINDS = (ActivityKind.SYSTEM, ActivityKind.INQUIRY, ActivityKind.HANDOVER)


# Activities that are a contact with the customer: they set Case.last_contact_at (notes and system
# events do not, nor does an open visit appointment until it is done).
CONTACT_KINDS = (
    ActivityKind.CALL, ActivityKind.EMAIL_OUT, ActivityKind.EMAIL_IN, ActivityKind.VISIT,
    ActivityKind.SHOWING, ActivityKind.LINE, ActivityKind.VISIT_APPOINTMENT,
)


class ActivityDirection(models.TextChoices):
    """Who reached whom: the office the customer (outbound) or the customer the office (inbound)."""

    OUTBOUND = "outbound", _("Outbound")
    INBOUND = "inbound", _("Inbound")


# The direction a mail's kind says (a call, a visit or a LINE message can go either way).
KIND_DIRECTIONS = {ActivityKind.EMAIL_OUT: ActivityDirection.OUTBOUND, ActivityKind.EMAIL_IN: ActivityDirection.INBOUND}


class IntroductionMethod(models.TextChoices):
    EMAIL = "email", _("E-mail")
    LINE = "line", _("LINE")
    VISIT = "visit", _("At the office")
    POST = "post", _("Post")


class IntroductionReaction(models.TextChoices):
    INTERESTED = "interested", _("Interested")
    CONSIDERING = "considering", _("Considering")
    DECLINED = "declined", _("Declined")


class CustomFieldType(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    BOOLEAN = "boolean", _("Yes/No")
    CHOICE = "choice", _("Choice")
    MULTI_CHOICE = "multi_choice", _("Multiple choice")


class DuplicateRule(models.TextChoices):
    """Why two cases may be one customer (名寄せ). The label is the reason pages show.

    Exact rules compare normalized contact points; fuzzy rules compare the customers' names, readings,
    birth dates and addresses (normalize/similarity.py). Values are stored and written to scan files:
    never rename one."""

    PHONE = "phone", _("Same phone number")
    EMAIL = "email", _("Same e-mail address")
    KANA_BIRTH = "kana_birth", _("Same reading and birth date")
    KANA_ADDRESS = "kana_address", _("Same reading, similar address")
    NAME_POSTAL = "name_postal", _("Similar name in the same postal code")
    NAME_BIRTH = "name_birth", _("Similar name, same birth date")
    BIRTH_ADDRESS = "birth_address", _("Same birth date, similar address")


EXACT_DUPLICATE_RULES = (DuplicateRule.PHONE.value, DuplicateRule.EMAIL.value)
FUZZY_DUPLICATE_RULES = tuple(rule for rule in DuplicateRule.values if rule not in EXACT_DUPLICATE_RULES)


class SharedValueMarking(models.TextChoices):
    """An admin's word on a phone or e-mail held by several customers (switchboard, family line)."""

    SHARED = "shared", _("Shared (not used to find duplicates)")
    PERSONAL = "personal", _("Personal (used to find duplicates)")


class ReassignmentKind(models.TextChoices):
    """What a 担当変更 was (crm.Reassignment)."""

    TRANSFER = "transfer", _("Transfer")  # 異動
    RETIRE = "retire", _("Retirement")  # 退職
    REASSIGN = "reassign", _("Reassignment")  # 担当者変更


class ReassignmentOutcome(models.TextChoices):
    """What happened to one case of a 担当変更."""

    MOVED = "moved", _("Moved with the agent")
    REASSIGNED = "reassigned", _("Reassigned")
    TRASHED = "trashed", _("Moved to the trash")
    SUB_REMOVED = "sub_removed", _("Sub-assignee role removed")
