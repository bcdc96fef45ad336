"""Request and response shapes of `POST /api/v1/inquiries` (the intake's web path).

Every text is bounded (`maxLength`) so that nothing can fail in the database: by the column it lands
in where there is one (the customer's name and reading: Customer, 200; phone and e-mail:
ContactPoint.raw, 300; the inquiry id: Inquiry.inquiry_id, 100; the listing number: Listing.ref, 64),
else by what the intake keeps of it. `null` is the same as leaving a key out.
"""

from typing import Annotated

from ninja import Field, Schema
from pydantic import BeforeValidator, StringConstraints


def number_as_text(value):
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


# An amount as a portal writes it ("8.5万円", "85,000円") or a JSON number (85000): the intake reads it
# (intake.money_in_man_yen, in 万円 or 円). Documented as a string; a number is taken as its text.
Amount = Annotated[str, BeforeValidator(number_as_text), StringConstraints(max_length=50)]


class InquiryCustomerIn(Schema):
    name: str | None = Field(None, max_length=200, description="お名前 (the customer's name)", examples=["山田 花子"])
    kana: str | None = Field(None, max_length=200, description="フリガナ", examples=["ヤマダ ハナコ"])
    phone: str | None = Field(None, max_length=300, description="A Japanese or international number, in any format",
                              examples=["090-1234-5678"])
    email: str | None = Field(None, max_length=300, examples=["hanako@example.jp"])


class InquiryListingIn(Schema):
    ref: str | None = Field(None, max_length=64, description="The portal's or the company's listing number: a listing "
                            "with that number (the portal's id for SUUMO, HOME'S, at home sources) is linked, else one is created",
                            examples=["100012345678"])
    name: str | None = Field(None, max_length=200, examples=["パークハイツ渋谷 302"])
    price: Amount | None = Field(None, description="Rent or price as the portal writes it (万円 or 円); a JSON number is taken too", examples=["8.5万円"])
    address: str | None = Field(None, max_length=300, examples=["東京都渋谷区道玄坂1-2-3"])
    layout: str | None = Field(None, max_length=50, examples=["1LDK"])
    area: Amount | None = Field(None, description="Floor area in m² (a JSON number is taken too)", examples=["35.2m2"])
    station: str | None = Field(None, max_length=200, examples=["JR山手線「渋谷」駅 徒歩7分"])


class InquiryIn(Schema):
    source: str = Field(..., min_length=1, max_length=32, description="The code of one of the company's inquiry sources "
                        "(反響取り込み設定); the case goes to its unit and default assignee", examples=["website"])
    inquiry_id: str | None = Field(None, max_length=100, description="The sender's own id of this inquiry: the same source and id "
                                   "again answer 200 with the same case and change nothing. Without it every call is a new inquiry",
                                   examples=["WEB-20261206-0001"])
    received_at: str | None = Field(None, max_length=64, description="When the customer sent it: ISO 8601 (`2026-12-06T10:15:00+09:00`; "
                                    "without an offset: the company's time zone) or `2026/12/06 10:15`. Default: now",
                                    examples=["2026-12-06T10:15:00+09:00"])
    inquiry_type: str | None = Field(None, max_length=100, description="お問い合わせ種別", examples=["来店予約"])
    customer: InquiryCustomerIn | None = Field(None, description="At least a name, a phone number or an e-mail address")
    message: str | None = Field(None, max_length=10000, description="The customer's message (the 反響 activity's text)",
                                examples=["今週末に内見できますか。"])
    listing: InquiryListingIn | None = None
    desired_move_in: str | None = Field(None, max_length=50, description="入居希望時期 (e.g. 1ヶ月以内, 3ヶ月以内)", examples=["1ヶ月以内"])


class InquiryOut(Schema):
    created: bool = Field(description="true: this call made the case (201); false: the same source and inquiry_id came before (200)")
    status: str = Field(description="`created` (a new customer and case), `linked_existing` (a new case of a customer already "
                        "known by phone or e-mail, flagged 要確認) or `duplicate` (the same source and inquiry_id again)")
    case_id: int | None = Field(description="The case's id (null only when the case of an earlier call was deleted since)")
    case_number: int | None = Field(description="The company's own case number (#123 on the pages)")
    customer_id: int | None
