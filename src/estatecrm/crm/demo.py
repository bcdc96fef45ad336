"""The demo company: a realistic office with units, staff, 2,000 customers and their follow-up.

Deterministic for a seed. Written in bulk inside one transaction, with one summary audit event (a
demo load is one act, not thousands). A few hundred customers are planted duplicates of others,
typed the way duplicates really arrive (full-width digits, upper-case e-mail, old kanji forms,
half-width readings), for 名寄せ.
"""

import datetime
import random
import secrets
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from estatecrm.audit.actions import record_event
from estatecrm.crm.actions import (
    customer_keys,
    do_upsert_custom_field,
    do_upsert_project,
    do_upsert_rank,
    do_upsert_sub_status,
    do_upsert_tag,
    refresh_last_contacts,
)
from estatecrm.crm.choices import (
    KIND_DIRECTIONS,
    ActivityDirection,
    ActivityKind,
    BuildingAge,
    CaseKind,
    CaseOrigin,
    CaseStatus,
    ContactPointKind,
    CustomerKind,
    Feature,
    IntroductionMethod,
    IntroductionReaction,
    Layout,
    MoveIn,
    WalkMinutes,
)
from estatecrm.crm.contact_points import build_contact_point
from estatecrm.crm.models import (
    Activity,
    Case,
    CaseAssignee,
    CaseTag,
    Contact,
    ContactPoint,
    Customer,
    DesiredConditions,
    Introduction,
    Listing,
)
from estatecrm.tenancy.actions import do_add_membership, do_upsert_company, do_upsert_org_unit, do_upsert_user
from estatecrm.tenancy.choices import CaseVisibility, Role
from estatecrm.tenancy.models import Company

DEMO_CODE = "demo"
ADMIN_EMAIL = "admin@demo.example.jp"
FAMILY = [("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"), ("田中", "タナカ"), ("伊藤", "イトウ"), ("渡辺", "ワタナベ"),
          ("山本", "ヤマモト"), ("中村", "ナカムラ"), ("小林", "コバヤシ"), ("加藤", "カトウ"), ("吉田", "ヨシダ"), ("山田", "ヤマダ"),
          ("佐々木", "ササキ"), ("山口", "ヤマグチ"), ("松本", "マツモト"), ("井上", "イノウエ"), ("木村", "キムラ"), ("林", "ハヤシ"),
          ("斎藤", "サイトウ"), ("清水", "シミズ"), ("山崎", "ヤマザキ"), ("森", "モリ"), ("池田", "イケダ"), ("橋本", "ハシモト"),
          ("阿部", "アベ"), ("石川", "イシカワ"), ("前田", "マエダ"), ("藤田", "フジタ"), ("後藤", "ゴトウ"), ("岡田", "オカダ")]
GIVEN = [("太郎", "タロウ"), ("花子", "ハナコ"), ("一郎", "イチロウ"), ("裕子", "ユウコ"), ("翔太", "ショウタ"), ("美咲", "ミサキ"),
         ("健一", "ケンイチ"), ("直子", "ナオコ"), ("大輔", "ダイスケ"), ("由美", "ユミ"), ("拓也", "タクヤ"), ("恵子", "ケイコ"),
         ("誠", "マコト"), ("陽子", "ヨウコ"), ("涼平", "リョウヘイ"), ("千代", "チヨ"), ("康弘", "ヤスヒロ"), ("桃子", "モモコ"),
         ("蓮", "レン"), ("結衣", "ユイ")]
PLACES = [("150-0002", "東京都", "渋谷区", "渋谷"), ("160-0022", "東京都", "新宿区", "新宿"), ("154-0004", "東京都", "世田谷区", "太子堂"),
          ("105-0011", "東京都", "港区", "芝公園"), ("220-0011", "神奈川県", "横浜市西区", "高島"), ("211-0004", "神奈川県", "川崎市中原区", "新丸子東"),
          ("231-0023", "神奈川県", "横浜市中区", "山下町"), ("210-0007", "神奈川県", "川崎市川崎区", "駅前本町")]
STATIONS = ["JR山手線/渋谷駅", "JR山手線/新宿駅", "東急東横線/武蔵小杉駅", "JR京浜東北線/横浜駅", "小田急線/下北沢駅", "京王線/明大前駅"]
MEDIA = ["SUUMO", "LIFULL HOME'S", "at home", "自社HP"]
UNITS = [("HQ", "本社", None, CaseVisibility.ORG), ("TKY", "東京エリア", "HQ", CaseVisibility.ORG), ("KNG", "神奈川エリア", "HQ", CaseVisibility.ORG),
         ("SBY", "渋谷店", "TKY", CaseVisibility.ORG), ("SJK", "新宿店", "TKY", CaseVisibility.ASSIGNEES), ("YKH", "横浜店", "KNG", CaseVisibility.ORG),
         ("KWS", "川崎店", "KNG", CaseVisibility.ORG)]
STORES = ["SBY", "SJK", "YKH", "KWS"]
TAGS = ["ファミリー", "単身", "ペット", "法人", "学生", "急ぎ", "高予算", "転勤"]
# What each kind of timeline entry says (its kind is shown beside it, never as its text).
ACTIVITY_TEXTS = {
    ActivityKind.CALL: [("内見日程の確認", "土曜午前で調整。候補物件を2件に絞る。"), ("折り返し", "不在のため留守電に伝言。"),
                        ("申込意思の確認", "家族と相談して週内に回答とのこと。")],
    ActivityKind.EMAIL_OUT: [("新着物件のご案内", "ご希望条件に合う物件を3件お送りしました。"), ("内見日程のご連絡", "日曜14時で確定しました。")],
    ActivityKind.EMAIL_IN: [("Re: 新着物件のご案内", "2件目の物件が気になります。"), ("お問い合わせ", "ペット可の物件はありますか。")],
    ActivityKind.VISIT: [("初回来店", "希望条件をヒアリング。駅徒歩10分以内、2LDK。"), ("再来店", "申込書類の説明。")],
    ActivityKind.SHOWING: [("2件内見", "1件目を気に入った様子。日当たりを重視。")],
    ActivityKind.VISIT_APPOINTMENT: [("物件相談", "ご夫婦で来店予定。"), ("申込手続き", "印鑑と身分証明書を持参。")],
    ActivityKind.LINE: [("LINEで物件URL送付", "既読、返信待ち。"), ("LINE返信", "来週末に内見したいとのこと。")],
    ActivityKind.NOTE: [("", "連絡は平日18時以降希望。"), ("", "転勤のため3月までに入居希望。")],
    ActivityKind.SYSTEM: [("", "担当者を変更しました。")],
}
NEXT_ACTIONS = ["内見の日程を電話で確認", "新着物件をメールで案内", "申込書類の提出を確認", "LINEで返信を催促", "来店の御礼電話"]
FULL_WIDTH = str.maketrans("0123456789-@", "０１２３４５６７８９－＠")
OLD_FORMS = str.maketrans({"高": "髙", "崎": "﨑", "辺": "邊", "斎": "齋"})


def demo_password() -> str:
    """The demo users' password: generated once and kept in var/demo-admin.txt."""
    path = Path(settings.VAR_DIR) / "demo-admin.txt"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    password = secrets.token_urlsafe(12)
    path.write_text(password + "\n", encoding="utf-8")
    path.chmod(0o600)
    return password


@dataclass
class DemoResult:
    company: Company
    customers: int
    cases: int
    activities: int
    planted_duplicates: int


def _phone(rng: random.Random) -> tuple[str, str]:
    if rng.random() < 0.65:
        digits = f"0{rng.choice('789')}0{rng.randint(1000, 9999)}{rng.randint(1000, 9999)}"
        return ContactPointKind.MOBILE, f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    digits = f"0{rng.choice(['3', '45', '44'])}"
    rest = f"{rng.randint(1000, 9999)}{rng.randint(1000, 9999)}"[: 10 - len(digits)]
    number = digits + rest
    return ContactPointKind.PHONE, f"{number[:-8]}-{number[-8:-4]}-{number[-4:]}" if number.startswith("03") else f"{number[:3]}-{number[3:6]}-{number[6:]}"


@transaction.atomic
def do_load_demo_company(*, seed: int = 2026, customers: int = 2000) -> DemoResult:
    """Create the demo company with everything in it. Refuses nothing; call it on an empty database."""
    rng = random.Random(seed)
    now = timezone.now()
    today = timezone.localdate()
    password = demo_password()
    company, _ = do_upsert_company(code=DEMO_CODE, name="デモ不動産株式会社")
    units = {}
    for code, name, parent, visibility in UNITS:
        units[code], _ = do_upsert_org_unit(company=company, code=code, name=name, parent=units.get(parent), case_visibility=visibility)
    admin, _ = do_upsert_user(company=company, email=ADMIN_EMAIL, name="管理 太郎", password=password)
    do_add_membership(user=admin, org_unit=units["HQ"], role=Role.ADMIN)
    agents = []
    for number in range(1, 13):
        store = STORES[(number - 1) % 4]
        family, _kana = FAMILY[number % len(FAMILY)]
        given, _given_kana = GIVEN[number % len(GIVEN)]
        agent, _ = do_upsert_user(company=company, email=f"agent{number:02d}@demo.example.jp", name=f"{family} {given}", password=password)
        do_add_membership(user=agent, org_unit=units[store], role=Role.AGENT)
        agents.append((agent, units[store]))
    ranks = [do_upsert_rank(company=company, name=name, position=i)[0] for i, name in enumerate(["S", "A", "B", "C"])]
    sub_statuses = {
        CaseStatus.FOLLOWING: [do_upsert_sub_status(company=company, status=CaseStatus.FOLLOWING, name=name, position=i)[0]
                               for i, name in enumerate(["反響対応中", "内見調整中"])],
        CaseStatus.APPLYING: [do_upsert_sub_status(company=company, status=CaseStatus.APPLYING, name="審査中")[0]],
    }
    tags = [do_upsert_tag(company=company, name=name, position=i)[0] for i, name in enumerate(TAGS)]
    field, _ = do_upsert_custom_field(company=company, name="所有物件数", field_type="number")
    project, _ = do_upsert_project(company=company, name="春の反響リスト", custom_fields=[field])

    listings = Listing.objects.bulk_create([
        Listing(company=company, ref=f"B{number:05d}", name=f"{rng.choice(['パークハイツ', 'メゾン', 'グランフォルム', 'レジデンス'])}{rng.choice(PLACES)[3]} {rng.randint(1, 9)}0{rng.randint(1, 9)}",
                kind=CaseKind.RENT if number % 3 else CaseKind.BUY, rent=Decimal(rng.randint(60, 250)) / 10 if number % 3 else None,
                price=None if number % 3 else rng.randint(3000, 12000), layout=rng.choice(Layout.values), area=Decimal(rng.randint(200, 900)) / 10)
        for number in range(1, 101)
    ])

    people = []
    planted = 0
    for index in range(customers):
        family, family_kana = rng.choice(FAMILY)
        given, given_kana = rng.choice(GIVEN)
        postal, prefecture, city, town = rng.choice(PLACES)
        phone_kind, phone = _phone(rng)
        email = f"user{index:05d}@example.jp"
        name, kana = f"{family} {given}", f"{family_kana} {given_kana}"
        if people and index % 9 == 0:
            # A planted duplicate: the same person typed again years later.
            original = people[rng.randrange(len(people))]
            name = original["name"].translate(OLD_FORMS) if rng.random() < 0.5 else original["name"].replace(" ", "")
            kana = original["kana"]
            phone_kind, phone = original["phone_kind"], original["phone"].translate(FULL_WIDTH)
            email = original["email"].upper()
            planted += 1
        people.append({"name": name, "kana": kana, "phone_kind": phone_kind, "phone": phone, "email": email, "postal": postal,
                       "prefecture": prefecture, "city": city, "street": f"{town}{rng.randint(1, 5)}-{rng.randint(1, 20)}-{rng.randint(1, 15)}",
                       "birth": datetime.date(rng.randint(1950, 2004), rng.randint(1, 12), rng.randint(1, 28))})

    customer_objects = []
    for person in people:
        key, kana_key = customer_keys(CustomerKind.PERSON, person["name"], person["kana"])
        customer_objects.append(Customer(company=company, kind=CustomerKind.PERSON, name=person["name"], name_key=key, kana=person["kana"],
                                         kana_key=kana_key, birth_date=person["birth"], postal_code=person["postal"],
                                         prefecture=person["prefecture"], city=person["city"], street=person["street"]))
    Customer.objects.bulk_create(customer_objects, batch_size=1000)
    contacts = Contact.objects.bulk_create(
        [Contact(company=company, customer=customer, name=customer.name, kana=customer.kana) for customer in customer_objects], batch_size=1000
    )
    points = []
    for person, contact in zip(people, contacts, strict=True):
        points.append(build_contact_point(contact=contact, kind=person["phone_kind"], raw=person["phone"], position=0))
        points.append(build_contact_point(contact=contact, kind=ContactPointKind.EMAIL, raw=person["email"], position=1))
    ContactPoint.objects.bulk_create(points, batch_size=1000)

    statuses = list(CaseStatus.values)
    cases = []
    for index, customer in enumerate(customer_objects):
        for _ in range(2 if index % 5 == 0 else 1):
            agent, store = rng.choice(agents)
            status = statuses[len(cases) % len(statuses)]
            started = today - datetime.timedelta(days=rng.randint(0, 720))
            origin = rng.choice([CaseOrigin.MANUAL] * 6 + [CaseOrigin.INQUIRY] * 3 + [CaseOrigin.LEAD_IMPORT])
            cases.append(Case(
                company=company, customer=customer, kind=rng.choice([CaseKind.RENT, CaseKind.RENT, CaseKind.BUY]), status=status,
                sub_status=rng.choice(sub_statuses[status]) if status in sub_statuses and rng.random() < 0.7 else None,
                rank=rng.choice(ranks + [None]), owning_org=store, main_assignee=agent, origin=origin,
                project=project if origin == CaseOrigin.LEAD_IMPORT else None, started_on=started,
                first_inquiry_date=started - datetime.timedelta(days=rng.randint(0, 3)), first_inquiry_source=rng.choice(MEDIA),
                first_inquiry_listing_ref=rng.choice(listings).ref, auto_intro_mail=rng.random() < 0.3,
            ))
    Case.objects.bulk_create(cases, batch_size=1000)
    case_tags, case_assignees, desired, activities, introductions = [], [], [], [], []
    kinds = list(ActivityKind.values)
    for case in cases:
        for position, tag in enumerate(rng.sample(tags, rng.randint(0, 3))):
            case_tags.append(CaseTag(company=company, case=case, tag=tag, position=position))
        others = [agent for agent, _unit in agents if agent.pk != case.main_assignee_id]
        for position, user in enumerate(rng.sample(others, rng.randint(0, 2))):
            case_assignees.append(CaseAssignee(company=company, case=case, user=user, position=position))
        is_rent = case.kind == CaseKind.RENT
        low = Decimal(rng.randint(50, 150)) / 10
        desired.append(DesiredConditions(
            company=company, case=case, rent_min=low if is_rent else None, rent_max=low + 3 if is_rent else None,
            price_min=None if is_rent else rng.randint(2000, 5000), price_max=None if is_rent else rng.randint(5000, 9000),
            layouts=rng.sample(Layout.values, 2), walk_minutes=rng.choice(WalkMinutes.values), building_age=rng.choice(BuildingAge.values),
            lines_stations=[{"line": station.split("/")[0], "station": station.split("/")[1]} for station in rng.sample(STATIONS, 2)],
            areas=[f"{rng.choice(PLACES)[1]}{rng.choice(PLACES)[2]}"], move_in=rng.choice(MoveIn.values),
            features=rng.sample(Feature.values, 3),
        ))
        for step in range(rng.randint(2, 5)):
            kind = kinds[(case.pk + step) % len(kinds)]
            is_appointment = kind == ActivityKind.VISIT_APPOINTMENT
            when = (now + datetime.timedelta(days=rng.randint(1, 14))) if is_appointment and step % 2 else now - datetime.timedelta(days=rng.randint(0, 300))
            subject, body = rng.choice(ACTIVITY_TEXTS[kind])
            direction = KIND_DIRECTIONS.get(kind) or (rng.choice(ActivityDirection.values) if kind in (ActivityKind.CALL, ActivityKind.LINE) else "")
            activities.append(Activity(company=company, case=case, kind=kind, direction=direction, occurred_at=when,
                                       actor_id=case.main_assignee_id, subject=subject, body=body, is_done=not (is_appointment and when > now),
                                       org_unit_id=case.owning_org_id if is_appointment else None))
        for listing in rng.sample(listings, rng.randint(0, 2)):
            introductions.append(Introduction(company=company, case=case, listing=listing, listing_ref=listing.ref, listing_name=listing.name,
                                              rent_or_price=listing.rent or listing.price, layout=listing.layout,
                                              introduced_on=today - datetime.timedelta(days=rng.randint(0, 200)),
                                              method=rng.choice(IntroductionMethod.values), reaction=rng.choice(IntroductionReaction.values + [""])))
    CaseTag.objects.bulk_create(case_tags, batch_size=1000)
    CaseAssignee.objects.bulk_create(case_assignees, batch_size=1000)
    DesiredConditions.objects.bulk_create(desired, batch_size=1000)
    Activity.objects.bulk_create(activities, batch_size=1000)
    refresh_last_contacts(company.pk)
    _plan_next_actions(rng, company, cases, now)
    Introduction.objects.bulk_create(introductions, batch_size=1000)
    record_event(company_id=company.pk, actor=None, verb="load_demo", object_type="tenancy.company", object_id=company.pk,
                 object_repr=company.name, after={"customers": len(customer_objects), "cases": len(cases), "activities": len(activities),
                                                  "planted_duplicates": planted, "seed": seed})
    return DemoResult(company=company, customers=len(customer_objects), cases=len(cases), activities=len(activities), planted_duplicates=planted)


def _plan_next_actions(rng: random.Random, company: Company, cases: list[Case], now: datetime.datetime) -> None:
    """次回対応 on the open cases: some due today, some overdue, most in the coming two weeks."""
    open_cases = [case for case in cases if case.status in (CaseStatus.NEW, CaseStatus.FOLLOWING, CaseStatus.APPLYING)]
    start_of_day = timezone.localtime(now).replace(hour=9, minute=0, second=0, microsecond=0)
    for case in open_cases:
        draw = rng.random()
        if draw < 0.1:
            case.next_action_at = start_of_day + datetime.timedelta(minutes=30 * rng.randint(0, 18))  # today, 9:00-18:00
        elif draw < 0.2:
            case.next_action_at = start_of_day - datetime.timedelta(days=rng.randint(1, 10))  # overdue
        elif draw < 0.7:
            case.next_action_at = start_of_day + datetime.timedelta(days=rng.randint(1, 14), minutes=30 * rng.randint(0, 18))
        else:
            continue
        case.next_action = rng.choice(NEXT_ACTIONS)
    Case.objects.for_company(company).bulk_update([case for case in open_cases if case.next_action_at], ["next_action_at", "next_action"],
                                                  batch_size=1000)
