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
)
from estatecrm.crm.case_numbers import allocate_case_numbers
from estatecrm.crm.choices import (
    CONTACT_KINDS,
    ActivityKind,
    CaseKind,
    CaseOrigin,
    CaseStatus,
    ContactPointKind,
    CustomerKind,
    IntroductionMethod,
    IntroductionReaction,
    MoveIn,
)
from estatecrm.crm.contact_points import build_contact_point
from estatecrm.crm.demo_listings import AREAS as LISTING_AREAS
from estatecrm.crm.demo_listings import load_demo_listings, plant_demo_matches
from estatecrm.crm.duplicates import refresh_company as refresh_duplicate_company
from estatecrm.crm.link_numbers import allocate_link_numbers
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
# How a real office's cases are spread over the statuses: most are being followed, few reach a contract.
STATUS_WEIGHTS = {CaseStatus.FOLLOWING: 52, CaseStatus.NEW: 14, CaseStatus.APPLYING: 4, CaseStatus.CONTRACTED: 7,
                  CaseStatus.CLOSED: 14, CaseStatus.ON_HOLD: 9}
OPEN_STATUSES = (CaseStatus.NEW, CaseStatus.FOLLOWING, CaseStatus.APPLYING, CaseStatus.ON_HOLD)
# Timeline entries as agents write them: (kind, direction, subject, body); {station}, {listing}, {rent}, {layout} are the case's.
FIRST_CONTACTS = [
    (ActivityKind.EMAIL_IN, "inbound", "【{medium}】物件へのお問い合わせ", "{listing}の空室状況と初期費用を教えてください。{station}周辺で{layout}を探しています。"),
    (ActivityKind.CALL, "inbound", "新規のお問い合わせ（入電）", "{station}周辺で{layout}、予算{rent}までで探しているとのこと。平日は18時以降なら電話可。"),
    (ActivityKind.SYSTEM, "", "{medium}から反響を受信", "反響物件：{listing}\n希望連絡方法：メール"),
]
FOLLOW_UPS = [
    (ActivityKind.CALL, "outbound", "初回ヒアリング", "入居希望時期、家族構成、勤務先の最寄り駅を確認。{station}まで30分以内が希望。"),
    (ActivityKind.CALL, "outbound", "空室確認の折り返し", "{listing}は募集中とお伝えした。週末に内見を希望されている。"),
    (ActivityKind.CALL, "outbound", "不在のため留守電", "内見日程の件で留守電を残した。明日もう一度かける。"),
    (ActivityKind.CALL, "inbound", "お客様から折り返し", "紹介した物件の駐車場の有無について質問あり。管理会社に確認して回答する。"),
    (ActivityKind.EMAIL_OUT, "outbound", "ご希望条件に合う物件のご案内", "いつもお世話になっております。{station}周辺で{layout}の新着物件を3件お送りします。"),
    (ActivityKind.EMAIL_OUT, "outbound", "内見日程のご確認", "今週土曜日 11時に{listing}の現地でお待ちしております。"),
    (ActivityKind.EMAIL_IN, "inbound", "Re: 物件のご案内", "資料ありがとうございます。2件目の物件を見てみたいです。土日どちらでも大丈夫です。"),
    (ActivityKind.EMAIL_IN, "inbound", "条件変更のご相談", "予算を少し上げてもよいので、駅から徒歩10分以内の物件を探してほしいです。"),
    (ActivityKind.LINE, "inbound", "LINEでお問い合わせ", "ペット（小型犬）可の物件はありますか、とのこと。"),
    (ActivityKind.LINE, "outbound", "間取り図を送付", "{listing}の間取り図と周辺地図をLINEで送付。"),
    (ActivityKind.VISIT, "inbound", "ご来店・ヒアリング", "ご夫婦でご来店。ヒアリングシート記入。{layout}、予算{rent}、{station}希望。"),
    (ActivityKind.VISIT_APPOINTMENT, "", "ご来店（初回面談）", "来店予約どおりご来店。希望条件を整理した。"),
    (ActivityKind.SHOWING, "", "{listing} 内見", "日当たりと収納を気に入られた様子。駐輪場の空きを気にされていた。"),
    (ActivityKind.SHOWING, "", "2物件を内見", "{listing}ほか1件を案内。2件目は駅から遠いとのこと。"),
    (ActivityKind.NOTE, "", "社内メモ", "競合他社でも検討中。早めに条件の合う物件を紹介する。"),
    (ActivityKind.NOTE, "", "連絡方法のメモ", "平日昼間は電話に出られないため、連絡はメールかLINEで。"),
]
CLOSING_STEPS = {
    CaseStatus.APPLYING: (ActivityKind.NOTE, "", "入居申込書を受領", "申込書と本人確認書類を受領。保証会社の審査中。結果は3営業日ほど。"),
    CaseStatus.CONTRACTED: (ActivityKind.VISIT, "inbound", "ご契約", "{listing}の重要事項説明と契約手続きを実施。鍵渡しは来月1日。"),
    CaseStatus.CLOSED: (ActivityKind.CALL, "outbound", "追客終了のご連絡", "他社で契約が決まったとのこと。お礼を伝えて追客を終了。"),
    CaseStatus.ON_HOLD: (ActivityKind.EMAIL_IN, "inbound", "しばらく保留にしたい", "転勤の時期が未定のため、決まり次第こちらから連絡します。"),
}
APPOINTMENT_TEXTS = [("ご来店予約", "初回面談。希望条件のヒアリングと物件紹介。"), ("内見の待ち合わせ", "{listing}の現地で待ち合わせ。"),
                     ("申込前の最終確認", "初期費用の見積りと申込書類の説明。")]
NEXT_ACTIONS = ["折り返し電話", "物件資料を送付", "内見日程の確認", "申込書類の確認", "審査結果の連絡", "条件変更のヒアリング", "新着物件の紹介"]
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


def _office_time(rng: random.Random, day: datetime.date) -> datetime.datetime:
    """A moment of office hours (10:00-18:45) on `day`, in the office's time zone."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(rng.randint(10, 18), rng.choice([0, 15, 30, 45]))))


def _business_day(rng: random.Random, today: datetime.date, low: int, high: int) -> datetime.date:
    """A day between today+low and today+high that is not a Wednesday (the day estate offices close)."""
    day = today + datetime.timedelta(days=rng.randint(low, high))
    return day + datetime.timedelta(days=1) if day.weekday() == 2 else day


def _next_action(rng: random.Random, today: datetime.date) -> tuple[datetime.datetime | None, str]:
    """次回対応 of an open case: some due today, some overdue, most in the coming weeks, a few with none planned."""
    roll = rng.random()
    if roll < 0.1:
        return None, ""
    if roll < 0.25:
        day = today
    elif roll < 0.38:
        day = today - datetime.timedelta(days=rng.randint(1, 10))
    else:
        day = _business_day(rng, today, 1, 21)
    return _office_time(rng, day), rng.choice(NEXT_ACTIONS)


RENT_LAYOUT_STEPS = ["ワンルーム", "1K", "1DK", "1LDK", "2LDK", "3LDK"]
BUY_LAYOUT_STEPS = ["2LDK", "3LDK", "4LDK"]
COMMON_FEATURES = ["バス・トイレ別", "2階以上", "エアコン付き", "オートロック", "室内洗濯機置場", "ペット相談"]


def _desired(rng: random.Random, company: Company, case: Case, areas) -> DesiredConditions:
    """What customers ask for: a budget always, two neighbouring layouts, and only some of area, station,
    walk, age and features (so that many cases have matching listings, as in a real office)."""
    _postal, prefecture, city, _town, stations = rng.choice(areas)
    steps = RENT_LAYOUT_STEPS if case.kind == CaseKind.RENT else BUY_LAYOUT_STEPS
    first = rng.randrange(len(steps) - 1)
    money = {}
    if case.kind == CaseKind.RENT:
        low = Decimal(rng.randint(12, 30) * 5) / 10
        money = {"rent_min": low if rng.random() < 0.5 else None, "rent_max": low + rng.choice([2, 3, 4, 5]),
                 "includes_management_fee": rng.random() < 0.4}
    else:
        low = rng.randint(30, 60) * 100
        money = {"price_min": low if rng.random() < 0.5 else None, "price_max": low + rng.choice([2000, 3000, 4000])}
    return DesiredConditions(
        company=company, case=case, **money, layouts=steps[first:first + 2] if rng.random() < 0.7 else [],
        areas=[f"{prefecture}{city}"] if rng.random() < 0.5 else [],
        lines_stations=[{"line": line, "station": f"{station}駅"} for line, station in rng.sample(stations, 1)] if rng.random() < 0.4 else [],
        walk_minutes=rng.choice([10, 15, 20]) if rng.random() < 0.5 else None,
        building_age=rng.choice([15, 20, 25, 30]) if rng.random() < 0.3 else None,
        move_in=rng.choice(MoveIn.values), features=rng.sample(COMMON_FEATURES, 1) if rng.random() < 0.4 else [],
    )


def _timeline(rng: random.Random, case: Case, listings: list[Listing], *, now: datetime.datetime, today: datetime.date) -> list[Activity]:
    """The case's history as agents write it: the first inquiry, calls and mails both ways, visits and showings,
    notes, the step that brought it to its status; an open case may have a visit booked this week or next."""
    listing = rng.choice(listings)
    values = {"listing": listing.name, "station": rng.choice(STATIONS).split("/")[1], "layout": rng.choice(["1K", "1LDK", "2LDK", "3LDK"]),
              "rent": f"{rng.randint(7, 20)}万円", "medium": case.first_inquiry_source}
    steps = [rng.choice(FIRST_CONTACTS[2:] if case.origin == CaseOrigin.INQUIRY else FIRST_CONTACTS[:2])]
    count = {CaseStatus.NEW: 0, CaseStatus.APPLYING: 4, CaseStatus.CONTRACTED: 5}.get(case.status, rng.randint(1, 5))
    steps += rng.sample(FOLLOW_UPS, count)
    if case.status in CLOSING_STEPS:
        steps.append(CLOSING_STEPS[case.status])
    start = case.demo_created_at
    span = max((now - start).total_seconds(), 3600)
    # Later entries fall in office hours of a day between the start and now (never in the future).
    later = [_office_time(rng, timezone.localtime(start + datetime.timedelta(seconds=rng.uniform(0, span))).date()) for _ in steps[1:]]
    moments = sorted([start] + [min(max(when, start), now) for when in later])
    activities = [
        Activity(company_id=case.company_id, case=case, kind=kind, direction=direction, occurred_at=when, actor_id=case.main_assignee_id,
                 subject=subject.format(**values), body=body.format(**values), is_done=True,
                 org_unit_id=case.owning_org_id if kind == ActivityKind.VISIT_APPOINTMENT else None)
        for (kind, direction, subject, body), when in zip(steps, moments, strict=True)
    ]
    if case.status in OPEN_STATUSES and rng.random() < 0.06:
        subject, body = rng.choice(APPOINTMENT_TEXTS)
        activities.append(Activity(company_id=case.company_id, case=case, kind=ActivityKind.VISIT_APPOINTMENT, occurred_at=_office_time(
            rng, _business_day(rng, today, 0, 13)), actor_id=case.main_assignee_id, subject=subject, body=body.format(**values),
            is_done=False, org_unit_id=case.owning_org_id))
    return activities


def _date_cases(cases: list[Case], activities: list[Activity]) -> None:
    """Give cases the dates they would have: created when they started, updated at their latest entry, the last
    contact at their latest done contact (as the actions keep it). bulk_create stamped them all with now."""
    latest: dict[int, datetime.datetime] = {}
    contact: dict[int, datetime.datetime] = {}
    for activity in activities:
        if not activity.is_done:
            continue
        latest[activity.case_id] = max(latest.get(activity.case_id, activity.occurred_at), activity.occurred_at)
        if activity.kind in CONTACT_KINDS:
            contact[activity.case_id] = max(contact.get(activity.case_id, activity.occurred_at), activity.occurred_at)
    for case in cases:
        case.created_at = case.demo_created_at
        case.updated_at = latest.get(case.pk, case.created_at)
        case.last_contact_at = contact.get(case.pk)
    # bulk_update filters by pk through the fail-closed manager: the company must be named.
    Case.objects.for_company(cases[0].company_id).bulk_update(cases, ["created_at", "updated_at", "last_contact_at"], batch_size=500)


DEMO_HANDOVER_NOTE = "前任者の異動に伴い引継ぎ。内見予定とご希望条件は各案件の履歴を確認してください。"


def _demo_handover(company: Company, admin, agents) -> None:
    """A real entry of the 担当変更履歴: the last agent's first cases handed to a colleague of the same store by
    the administrator, with a handover note, through the one engine (no mail: demo data)."""
    from estatecrm.crm.choices import ReassignmentKind
    from estatecrm.crm.reassignment import Plan, apply_plan, lock_cases

    (agent, unit), successor = agents[-1], next(other for other, other_unit in agents[:-1] if other_unit == agents[-1][1])
    cases = lock_cases(Case.objects.for_company(company).filter(main_assignee=agent, owning_org=unit, deleted_at__isnull=True)
                       .filter(pk__in=Case.objects.for_company(company).filter(main_assignee=agent).order_by("pk").values("pk")[:5]))
    apply_plan(Plan(company_id=company.pk, kind=ReassignmentKind.REASSIGN, cases=cases, acting_user=admin, agent=agent,
                    to_user=successor, handover_note=DEMO_HANDOVER_NOTE, notify=False))


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

    # The listings have their own random stream, so that what the demo holds besides listings does not
    # depend on their number.
    listing_rng = random.Random(seed)
    listings = load_demo_listings(company=company, rng=listing_rng, agents=agents)

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
    link_numbers = iter(allocate_link_numbers(company.pk, len(people)))
    for person in people:
        key, kana_key = customer_keys(CustomerKind.PERSON, person["name"], person["kana"])
        customer_objects.append(Customer(company=company, kind=CustomerKind.PERSON, name=person["name"], name_key=key, kana=person["kana"],
                                         kana_key=kana_key, birth_date=person["birth"], postal_code=person["postal"],
                                         prefecture=person["prefecture"], city=person["city"], street=person["street"],
                                         line_link_number=next(link_numbers)))
    Customer.objects.bulk_create(customer_objects, batch_size=1000)
    contacts = Contact.objects.bulk_create(
        [Contact(company=company, customer=customer, name=customer.name, kana=customer.kana) for customer in customer_objects], batch_size=1000
    )
    points = []
    for person, contact in zip(people, contacts, strict=True):
        points.append(build_contact_point(contact=contact, kind=person["phone_kind"], raw=person["phone"], position=0))
        points.append(build_contact_point(contact=contact, kind=ContactPointKind.EMAIL, raw=person["email"], position=1))
    ContactPoint.objects.bulk_create(points, batch_size=1000)

    status_values, status_weights = list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values())
    cases = []
    for index, customer in enumerate(customer_objects):
        for _ in range(2 if index % 5 == 0 else 1):
            agent, store = rng.choice(agents)
            # The first cases get one of each status, so even a small demo shows every status.
            status = status_values[len(cases)] if len(cases) < len(status_values) else rng.choices(status_values, status_weights)[0]
            started = today - datetime.timedelta(days=min(rng.randint(0, 200), rng.randint(0, 540)))
            origin = rng.choice([CaseOrigin.MANUAL] * 6 + [CaseOrigin.INQUIRY] * 3 + [CaseOrigin.LEAD_IMPORT])
            case = Case(
                company=company, customer=customer, kind=rng.choice([CaseKind.RENT, CaseKind.RENT, CaseKind.BUY]), status=status,
                sub_status=rng.choice(sub_statuses[status]) if status in sub_statuses and rng.random() < 0.7 else None,
                rank=rng.choice(ranks + [None]), owning_org=store, main_assignee=agent, origin=origin,
                project=project if origin == CaseOrigin.LEAD_IMPORT else None, started_on=started,
                first_inquiry_date=started - datetime.timedelta(days=rng.randint(0, 3)), first_inquiry_source=rng.choice(MEDIA),
                first_inquiry_listing_ref=rng.choice(listings).ref, auto_intro_mail=rng.random() < 0.3,
            )
            case.demo_created_at = _office_time(rng, started)
            if status in OPEN_STATUSES:
                case.next_action_at, case.next_action = _next_action(rng, today)
            cases.append(case)
    for case, number in zip(cases, allocate_case_numbers(company.pk, len(cases)), strict=True):
        case.number = number
    Case.objects.bulk_create(cases, batch_size=1000)
    # A new company written in bulk: its 名寄せ candidates (the planted duplicates) in one full computation.
    refresh_duplicate_company(company.pk)
    case_tags, case_assignees, desired, activities, introductions = [], [], [], [], []
    for case in cases:
        for position, tag in enumerate(rng.sample(tags, rng.randint(0, 3))):
            case_tags.append(CaseTag(company=company, case=case, tag=tag, position=position))
        others = [agent for agent, _unit in agents if agent.pk != case.main_assignee_id]
        for position, user in enumerate(rng.sample(others, rng.randint(0, 2))):
            case_assignees.append(CaseAssignee(company=company, case=case, user=user, position=position))
        desired.append(_desired(rng, company, case, LISTING_AREAS))
        activities.extend(_timeline(rng, case, listings, now=now, today=today))
        for listing in rng.sample(listings, rng.randint(0, 2)):
            introductions.append(Introduction(company=company, case=case, listing=listing, listing_ref=listing.ref, listing_name=listing.name,
                                              rent_or_price=listing.rent or listing.price, layout=listing.layout,
                                              introduced_on=today - datetime.timedelta(days=rng.randint(0, 200)),
                                              method=rng.choice(IntroductionMethod.values), reaction=rng.choice(IntroductionReaction.values + [""])))
    CaseTag.objects.bulk_create(case_tags, batch_size=1000)
    CaseAssignee.objects.bulk_create(case_assignees, batch_size=1000)
    DesiredConditions.objects.bulk_create(desired, batch_size=1000)
    plant_demo_matches(company=company, rng=listing_rng, agents=agents, desired=desired)
    Activity.objects.bulk_create(activities, batch_size=1000)
    _date_cases(cases, activities)
    Introduction.objects.bulk_create(introductions, batch_size=1000)
    _demo_handover(company, admin, agents)
    record_event(company_id=company.pk, actor=None, verb="load_demo", object_type="tenancy.company", object_id=company.pk,
                 object_repr=company.name, after={"customers": len(customer_objects), "cases": len(cases), "activities": len(activities),
                                                  "planted_duplicates": planted, "seed": seed})
    return DemoResult(company=company, customers=len(customer_objects), cases=len(cases), activities=len(activities), planted_duplicates=planted)

