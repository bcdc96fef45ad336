"""Planted 名寄せ data: N generated Japanese customers, some of them the same person typed again, and the truth.

`generate(n, seed=1)` returns a `Dataset`: `people` (n `Person`s, in order; a person's index is its position)
and `truth` (`PlantedPair`s: two indexes of one real person and the rule the copy was planted for). Pure
Python (jaconv for the readings' forms and romaji), seeded, deterministic, about 15 s per 1,000,000.

What is planted (rates of the whole population; one copy per planted person, sometimes two):
- `phone`: the copy has the same phone typed otherwise (hyphens or not, full-width digits, +81, brackets),
  and may differ in everything else (a half-width reading, a kanji variant, a new address);
- `email`: the same e-mail with other letter case, no phone in common;
- `kana_birth`: same reading (half-width or hiragana sometimes), same birth date, kanji variant or typo in
  the name, a new phone, e-mail and address;
- `kana_address`: same reading and the same address typed otherwise (full-width digits, 丁目/番/号 or hyphens),
  no birth date on the copy, a new phone;
- `name_postal`: a typo or variant in the name AND its reading (so no reading rule sees it), same postal code,
  the address typed otherwise or a new building, no birth date, a new phone.
Copies of the fuzzy kinds share no phone or e-mail with the original: finding them is the fuzzy rules' job.

Everything else is unique where it must be: phones and e-mails are drawn from permutations (no two people
share one by chance), except `shared` switchboards (one number for SHARED_HOLDERS people, the
"shared number" rule must ignore them; they are not duplicates). Names, readings, birth dates and postal
codes collide as they do in life: same name, different people (false pairs the fuzzy rules must not take).
"""

import datetime
import itertools
import random
from dataclasses import dataclass, field

import jaconv

# (kanji, reading): the common family names, then parts that compose the rest.
FAMILY = [
    ("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"), ("田中", "タナカ"), ("伊藤", "イトウ"), ("渡辺", "ワタナベ"),
    ("山本", "ヤマモト"), ("中村", "ナカムラ"), ("小林", "コバヤシ"), ("加藤", "カトウ"), ("吉田", "ヨシダ"), ("山田", "ヤマダ"),
    ("佐々木", "ササキ"), ("山口", "ヤマグチ"), ("松本", "マツモト"), ("井上", "イノウエ"), ("木村", "キムラ"), ("林", "ハヤシ"),
    ("斎藤", "サイトウ"), ("清水", "シミズ"), ("山崎", "ヤマザキ"), ("森", "モリ"), ("池田", "イケダ"), ("橋本", "ハシモト"),
    ("阿部", "アベ"), ("石川", "イシカワ"), ("山下", "ヤマシタ"), ("中島", "ナカジマ"), ("石井", "イシイ"), ("小川", "オガワ"),
    ("前田", "マエダ"), ("岡田", "オカダ"), ("長谷川", "ハセガワ"), ("藤田", "フジタ"), ("後藤", "ゴトウ"), ("近藤", "コンドウ"),
    ("村上", "ムラカミ"), ("遠藤", "エンドウ"), ("青木", "アオキ"), ("坂本", "サカモト"), ("斉藤", "サイトウ"), ("福田", "フクダ"),
    ("太田", "オオタ"), ("西村", "ニシムラ"), ("藤井", "フジイ"), ("金子", "カネコ"), ("岡本", "オカモト"), ("藤原", "フジワラ"),
    ("中野", "ナカノ"), ("三浦", "ミウラ"), ("原田", "ハラダ"), ("松田", "マツダ"), ("竹内", "タケウチ"), ("小野", "オノ"),
    ("田村", "タムラ"), ("中山", "ナカヤマ"), ("和田", "ワダ"), ("石田", "イシダ"), ("森田", "モリタ"), ("上田", "ウエダ"),
    ("原", "ハラ"), ("内田", "ウチダ"), ("柴田", "シバタ"), ("酒井", "サカイ"), ("宮崎", "ミヤザキ"), ("横山", "ヨコヤマ"),
    ("高木", "タカギ"), ("安藤", "アンドウ"), ("宮本", "ミヤモト"), ("大野", "オオノ"), ("小島", "コジマ"), ("谷口", "タニグチ"),
    ("工藤", "クドウ"), ("今井", "イマイ"), ("高田", "タカダ"), ("増田", "マスダ"), ("丸山", "マルヤマ"), ("杉山", "スギヤマ"),
    ("村田", "ムラタ"), ("大塚", "オオツカ"), ("新井", "アライ"), ("小山", "コヤマ"), ("平野", "ヒラノ"), ("藤本", "フジモト"),
    ("河野", "コウノ"), ("上野", "ウエノ"), ("野口", "ノグチ"), ("武田", "タケダ"), ("松井", "マツイ"), ("千葉", "チバ"),
    ("岩崎", "イワサキ"), ("菅原", "スガワラ"), ("木下", "キノシタ"), ("久保", "クボ"), ("佐野", "サノ"), ("野村", "ノムラ"),
    ("松尾", "マツオ"), ("市川", "イチカワ"), ("菊地", "キクチ"), ("杉本", "スギモト"), ("古川", "フルカワ"), ("大西", "オオニシ"),
    ("島田", "シマダ"), ("水野", "ミズノ"), ("桜井", "サクライ"), ("高野", "タカノ"), ("渡部", "ワタナベ"), ("吉川", "ヨシカワ"),
    ("山内", "ヤマウチ"), ("西田", "ニシダ"), ("飯田", "イイダ"), ("菊池", "キクチ"), ("西川", "ニシカワ"), ("小松", "コマツ"),
    ("北村", "キタムラ"), ("安田", "ヤスダ"), ("五十嵐", "イガラシ"), ("川口", "カワグチ"), ("平田", "ヒラタ"), ("関", "セキ"),
    ("中川", "ナカガワ"), ("久保田", "クボタ"), ("東", "アズマ"), ("服部", "ハットリ"), ("川崎", "カワサキ"), ("岩田", "イワタ"),
    ("辻", "ツジ"), ("土屋", "ツチヤ"), ("福島", "フクシマ"), ("本田", "ホンダ"), ("荒木", "アラキ"), ("樋口", "ヒグチ"),
    ("浜田", "ハマダ"), ("沢田", "サワダ"), ("広田", "ヒロタ"), ("斎木", "サイキ"), ("高瀬", "タカセ"), ("長崎", "ナガサキ"),
]
FAMILY_HEAD = [("大", "オオ"), ("小", "コ"), ("上", "カミ"), ("下", "シモ"), ("北", "キタ"), ("南", "ミナミ"), ("西", "ニシ"),
               ("東", "ヒガシ"), ("若", "ワカ"), ("長", "ナガ"), ("古", "フル"), ("新", "ニイ"), ("宮", "ミヤ"), ("石", "イシ"),
               ("岩", "イワ"), ("松", "マツ"), ("竹", "タケ"), ("梅", "ウメ"), ("桑", "クワ"), ("浅", "アサ"), ("深", "フカ"),
               ("早", "ハヤ"), ("福", "フク"), ("金", "カネ"), ("黒", "クロ"), ("白", "シラ"), ("赤", "アカ"), ("青", "アオ")]
FAMILY_TAIL = [("田", "タ"), ("川", "カワ"), ("山", "ヤマ"), ("野", "ノ"), ("本", "モト"), ("井", "イ"), ("村", "ムラ"),
               ("沢", "サワ"), ("原", "ハラ"), ("島", "シマ"), ("谷", "タニ"), ("木", "キ"), ("口", "グチ"), ("瀬", "セ"),
               ("岡", "オカ"), ("尾", "オ"), ("浦", "ウラ"), ("部", "ベ")]
GIVEN_HEAD = [("健", "ケン"), ("翔", "ショウ"), ("大", "ダイ"), ("拓", "タク"), ("浩", "ヒロ"), ("誠", "マコト"), ("直", "ナオ"),
              ("和", "カズ"), ("正", "マサ"), ("康", "ヤス"), ("雄", "ユウ"), ("秀", "ヒデ"), ("智", "トモ"), ("俊", "トシ"),
              ("真", "マ"), ("美", "ミ"), ("恵", "メグ"), ("由", "ユ"), ("優", "ユウ"), ("陽", "ヨウ"), ("彩", "アヤ"),
              ("千", "チ"), ("香", "カ"), ("里", "サト"), ("絵", "エ"), ("奈", "ナ"), ("亜", "ア"), ("沙", "サ"), ("早", "サ"),
              ("晴", "ハル"), ("冬", "フユ"), ("夏", "ナツ"), ("秋", "アキ"), ("春", "ハル"), ("光", "ミツ"), ("清", "キヨ"),
              ("達", "タツ"), ("勝", "カツ"), ("義", "ヨシ"), ("信", "ノブ")]
GIVEN_TAIL = [("太", "タ"), ("介", "スケ"), ("一", "イチ"), ("郎", "ロウ"), ("也", "ヤ"), ("樹", "キ"), ("人", "ト"), ("司", "ジ"),
              ("子", "コ"), ("美", "ミ"), ("香", "カ"), ("奈", "ナ"), ("江", "エ"), ("代", "ヨ"), ("恵", "エ"), ("希", "キ"),
              ("菜", "ナ"), ("彦", "ヒコ"), ("平", "ヘイ"), ("輔", "スケ"), ("志", "シ"), ("男", "オ"), ("乃", "ノ"), ("帆", "ホ")]
# Old or variant forms that offices type for the common ones (normalize.names folds them).
VARIANTS = {"高": "髙", "崎": "﨑", "辺": "邊", "斎": "齋", "沢": "澤", "浜": "濱", "広": "廣", "桜": "櫻", "国": "國", "恵": "惠",
            "真": "眞", "富": "冨", "竜": "龍", "徳": "德"}
# Kanji typed wrong for one of the same sound (a typo in the name, not in the reading).
KANJI_TYPOS = {"一": "市", "子": "小", "介": "助", "太": "多", "郎": "朗", "美": "実", "司": "二", "樹": "紀", "代": "世",
               "田": "多", "川": "河", "本": "元", "井": "居", "島": "嶋", "野": "埜", "藤": "籐", "和": "一", "健": "謙",
               "雄": "勇", "香": "佳", "奈": "菜", "江": "恵", "希": "紀", "彦": "比古"}
# A wrong kana in the reading (typed or misheard).
KANA_TYPOS = {"ウ": "ー", "ジ": "ヂ", "ズ": "ヅ", "ロ": "ル", "タ": "ダ", "カ": "ガ", "サ": "ザ", "ハ": "バ", "キ": "ギ", "シ": "ジ",
              "オ": "ヲ", "ヨ": "ヤ", "コ": "ゴ", "ト": "ド", "ケ": "ゲ"}
PREFECTURES = [("東京都", "1"), ("神奈川県", "2"), ("埼玉県", "3"), ("千葉県", "2"), ("大阪府", "5"), ("愛知県", "4"),
               ("福岡県", "8"), ("北海道", "0"), ("兵庫県", "6"), ("京都府", "6"), ("静岡県", "4"), ("宮城県", "9")]
CITY_HEAD = ["中央", "港", "北", "南", "西", "東", "緑", "青葉", "若葉", "旭", "栄", "泉", "桜", "松", "柏", "朝日", "富士見", "大和"]
CITY_TAIL = ["区", "市", "町"]
TOWN_HEAD = ["本", "新", "元", "上", "下", "中", "大", "小", "東", "西", "南", "北", "若", "宮", "高", "松", "梅", "桜", "柳", "花"]
TOWN_TAIL = ["町", "台", "ヶ丘", "野", "原", "田", "通", "坂", "浜", "島", "森", "沢", "川", "見", "園", "里"]
BUILDINGS = ["メゾン", "コーポ", "ハイツ", "グランデ", "パークハウス", "レジデンス", "ヴィラ", "シャトー", "サンライズ", "ベルメゾン"]
MAIL_DOMAINS = ["gmail.com", "yahoo.co.jp", "icloud.com", "docomo.ne.jp", "ezweb.ne.jp", "outlook.jp", "example.jp"]
FULL_WIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")

# Rates of the population (planted copies are included in n).
PLANT_RATES = {"phone": 0.012, "email": 0.006, "kana_birth": 0.008, "kana_address": 0.006, "name_postal": 0.006}
SHARED_RATE = 0.0005  # share of people calling from a switchboard held by SHARED_HOLDERS
SHARED_HOLDERS = 8
PEOPLE_PER_TOWN = 12
PHONES = 3 * 9 * 10**7  # about 80,000 postal codes for 1,000,000 people


@dataclass(slots=True)
class Person:
    """One customer as typed into the CRM: raw name, reading, phones and e-mails; `entity` is who they are."""

    entity: int
    name: str
    kana: str
    birth_date: datetime.date | None
    postal_code: str
    prefecture: str
    city: str
    street: str
    building: str
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PlantedPair:
    a: int  # index of the original, a < b
    b: int  # index of the copy
    rule: str  # the rule the copy was planted for


@dataclass
class Dataset:
    people: list[Person]
    truth: list[PlantedPair] = field(default_factory=list)

    def true_pairs(self) -> set[tuple[int, int]]:
        """Every pair of indexes of one entity (copies of one original are pairs among themselves too)."""
        by_entity: dict[int, list[int]] = {}
        for index, person in enumerate(self.people):
            by_entity.setdefault(person.entity, []).append(index)
        pairs = set()
        for members in by_entity.values():
            for i, a in enumerate(members):
                for b in members[i + 1:]:
                    pairs.add((a, b))
        return pairs


class _Names:
    """Weighted name pools (a few common family names, a long tail), composed once."""

    def __init__(self, rng: random.Random):
        composed = [(h + t, hr + tr) for h, hr in FAMILY_HEAD for t, tr in FAMILY_TAIL]
        self.family = FAMILY + [name for name in composed if name[0] not in {f for f, _ in FAMILY}]
        # Zipf-like: the common ones weigh more, the composed tail is flat.
        self.family_weights = [60 / (rank + 3) if rank < len(FAMILY) else 0.35 for rank in range(len(self.family))]
        self.given = [(h + t, hr + tr) for h, hr in GIVEN_HEAD for t, tr in GIVEN_TAIL]
        rng.shuffle(self.given)
        self.given_weights = [4 / (rank + 8) + 0.05 for rank in range(len(self.given))]
        self.family_cumulative = list(itertools.accumulate(self.family_weights))
        self.given_cumulative = list(itertools.accumulate(self.given_weights))
        self.romaji: dict[str, str] = {}

    def romanized(self, kana: str) -> str:
        found = self.romaji.get(kana)
        if found is None:
            found = self.romaji[kana] = jaconv.kana2alphabet(jaconv.kata2hira(kana)).replace("ー", "")
        return found

    def draw(self, rng: random.Random) -> tuple[str, str, str, str]:
        family = rng.choices(self.family, cum_weights=self.family_cumulative)[0]
        given = rng.choices(self.given, cum_weights=self.given_cumulative)[0]
        return family[0], family[1], given[0], given[1]


def _unique(rng: random.Random, space: int):
    """Distinct numbers below `space` in a scrambled order (an affine permutation; no repeat before `space`)."""
    step = rng.randrange(1, space)
    while _gcd(step, space) != 1:
        step += 1
    start = rng.randrange(space)
    index = 0
    while True:
        yield (start + index * step) % space
        index += 1


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a


def phone_digits(number: int) -> str:
    """A mobile number 0X0-NNNN-NNNN (a valid one: the first N is not 0) from 0 <= number < PHONES."""
    prefix = ("090", "080", "070")[number // (9 * 10**7)]
    return f"{prefix}{10**7 + number % (9 * 10**7)}"


def typed_phone(rng: random.Random, digits: str) -> str:
    """The number as someone typed it: hyphens or not, full-width, brackets, or +81."""
    shaped = f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    style = rng.randrange(6)
    if style == 0:
        return digits
    if style == 1:
        return shaped.translate(FULL_WIDTH)
    if style == 2:
        return f"+81-{digits[1:3]}-{digits[3:7]}-{digits[7:]}"
    if style == 3:
        return f"({digits[:3]}){digits[3:7]}-{digits[7:]}"
    if style == 4:
        return f"+81{digits[1:]}"
    return shaped


def recased(rng: random.Random, email: str) -> str:
    local, domain = email.split("@")
    style = rng.randrange(3)
    if style == 0:
        return email.upper()
    if style == 1:
        return local.capitalize() + "@" + domain.upper()
    return "".join(char.upper() if rng.random() < 0.5 else char for char in local) + "@" + domain


def reading_typed(rng: random.Random, family_kana: str, given_kana: str) -> str:
    """The reading as typed: full-width katakana with or without a space, half-width, or hiragana."""
    style = rng.randrange(5)
    text = f"{family_kana} {given_kana}" if style != 1 else family_kana + given_kana
    if style == 2:
        return jaconv.z2h(text, kana=True, ascii=False, digit=False)
    if style == 3:
        return jaconv.kata2hira(text)
    return text


def with_variant(rng: random.Random, name: str) -> str:
    """The name with one folded kanji variant (髙/高...), or unchanged when it has none."""
    spots = [index for index, char in enumerate(name) if char in VARIANTS]
    if not spots:
        return name
    index = rng.choice(spots)
    return name[:index] + VARIANTS[name[index]] + name[index + 1:]


def with_typo(rng: random.Random, name: str) -> str:
    """One kanji of the name typed as another of the same sound (when it has one), else one dropped or doubled."""
    spots = [index for index, char in enumerate(name) if char in KANJI_TYPOS]
    if spots:
        index = rng.choice(spots)
        return name[:index] + KANJI_TYPOS[name[index]] + name[index + 1:]
    chars = [char for char in name if char != " "]
    index = rng.randrange(len(chars))
    return name + chars[index]


def kana_with_typo(rng: random.Random, kana: str) -> str:
    spots = [index for index, char in enumerate(kana) if char in KANA_TYPOS]
    if not spots:
        return kana + "ー"
    index = rng.choice(spots)
    return kana[:index] + KANA_TYPOS[kana[index]] + kana[index + 1:]


def street_typed(rng: random.Random, town: str, chome: int, ban: int, go: int) -> str:
    style = rng.randrange(4)
    if style == 0:
        return f"{town}{chome}丁目{ban}番{go}号"
    if style == 1:
        return f"{town}{chome}-{ban}-{go}".translate(FULL_WIDTH)
    if style == 2:
        return f"{town}{chome}丁目{ban}-{go}"
    return f"{town}{chome}-{ban}-{go}"


def generate(n: int, *, seed: int = 1) -> Dataset:
    """n people, PLANT_RATES of them copies of others (see the module's docstring), deterministic for a seed."""
    rng = random.Random(seed)
    names = _Names(rng)
    phones = _unique(rng, PHONES)
    mails = _unique(rng, 10**7)
    towns_count = max(10, n // PEOPLE_PER_TOWN)
    postal_numbers = _unique(rng, 10**4)
    towns = []
    for index in range(towns_count):
        prefecture, digit = PREFECTURES[index % len(PREFECTURES)]
        city = rng.choice(CITY_HEAD) + rng.choice(CITY_TAIL)
        town = rng.choice(TOWN_HEAD) + rng.choice(TOWN_TAIL)
        # Distinct codes: the permutation repeats only every 10,000 towns, and the middle digits count those.
        towns.append((f"{digit}{index // 10**4 % 100:02d}-{next(postal_numbers):04d}", prefecture, city, town))
    switchboards = [phone_digits(next(phones)) for _ in range(max(1, int(n * SHARED_RATE / SHARED_HOLDERS)))]
    switchboard_set = set(switchboards)
    people: list[Person] = []
    truth: list[PlantedPair] = []
    details: list[tuple] = []  # per person: (family, family_kana, given, given_kana, phone digits, email, town, chome, ban, go)

    def original() -> Person:
        family, family_kana, given, given_kana = names.draw(rng)
        postal, prefecture, city, town = rng.choice(towns)
        chome, ban, go = rng.randint(1, 5), rng.randint(1, 30), rng.randint(1, 20)
        digits = phone_digits(next(phones))
        romaji = f"{names.romanized(given_kana)}.{names.romanized(family_kana)}"
        email = f"{romaji}{next(mails)}@{rng.choice(MAIL_DOMAINS)}" if rng.random() < 0.6 else ""
        if rng.random() < SHARED_RATE:
            digits = rng.choice(switchboards)
        birth = datetime.date(1940, 1, 1) + datetime.timedelta(days=rng.randrange(65 * 365)) if rng.random() < 0.8 else None
        building = f"{rng.choice(BUILDINGS)}{town}{rng.randint(1, 3)} {rng.randint(1, 9)}0{rng.randint(1, 9)}" if rng.random() < 0.5 else ""
        details.append((family, family_kana, given, given_kana, digits, email, town, chome, ban, go))
        return Person(entity=len(people), name=f"{family} {given}" if rng.random() < 0.8 else family + given,
                      kana=reading_typed(rng, family_kana, given_kana) if rng.random() < 0.9 else "", birth_date=birth,
                      postal_code=postal if rng.random() < 0.9 else postal.replace("-", ""), prefecture=prefecture, city=city,
                      street=street_typed(rng, town, chome, ban, go), building=building,
                      phones=(typed_phone(rng, digits),) if rng.random() < 0.97 else (), emails=(email,) if email else ())

    def copy_of(index: int, rule: str) -> Person:
        source = people[index]
        family, family_kana, given, given_kana, digits, email, town, chome, ban, go = details[index]
        new_digits = phone_digits(next(phones))
        fresh_phone = (typed_phone(rng, new_digits),)
        details.append((family, family_kana, given, given_kana, new_digits, "", town, chome, ban, go))
        name = with_variant(rng, f"{family} {given}" if rng.random() < 0.5 else family + given)
        kana = reading_typed(rng, family_kana, given_kana)
        if rule == "phone":
            moved = rng.choice(towns) if rng.random() < 0.3 else None
            details[-1] = details[-1][:4] + (digits,) + details[-1][5:]
            return Person(source.entity, name, kana if rng.random() < 0.7 else "", source.birth_date if rng.random() < 0.5 else None,
                          moved[0] if moved else source.postal_code, moved[1] if moved else source.prefecture,
                          moved[2] if moved else source.city, street_typed(rng, moved[3], 1, 1, 1) if moved else source.street, "",
                          phones=(typed_phone(rng, digits),))
        if rule == "email":
            return Person(source.entity, name, kana if rng.random() < 0.5 else "", None, "", "", "", "", "",
                          phones=fresh_phone if rng.random() < 0.5 else (), emails=(recased(rng, email),))
        if rule == "kana_birth":
            if rng.random() < 0.4:
                name = with_typo(rng, name)
            moved = rng.choice(towns)
            return Person(source.entity, name, kana, source.birth_date, moved[0], moved[1], moved[2],
                          street_typed(rng, moved[3], rng.randint(1, 5), rng.randint(1, 30), rng.randint(1, 20)), "", phones=fresh_phone)
        if rule == "kana_address":
            return Person(source.entity, name, kana, None, source.postal_code, source.prefecture, source.city,
                          street_typed(rng, town, chome, ban, go), source.building, phones=fresh_phone)
        # name_postal: the name and its reading typed wrong, same postal code.
        name = with_typo(rng, name)
        return Person(source.entity, name, kana_with_typo(rng, family_kana + given_kana) if rng.random() < 0.7 else "", None,
                      source.postal_code, source.prefecture, source.city, street_typed(rng, town, chome, ban, go), "",
                      phones=fresh_phone)

    plants = sorted((rate, rule) for rule, rate in PLANT_RATES.items())
    copy_share = sum(PLANT_RATES.values())
    while len(people) < n:
        draw = rng.random()
        if people and draw < copy_share:
            rule = next(rule for rate, rule in _cumulative(plants) if draw < rate)
            index = rng.randrange(len(people))
            source = people[index]
            if rule == "kana_birth" and (source.birth_date is None or not source.kana):
                rule = "phone"
            if rule == "kana_address" and not source.kana:
                rule = "phone"
            if rule == "email" and not source.emails:
                rule = "phone"
            # Copies are made of originals (a copy of a copy would lose what the rule needs), with their own phone.
            if source.entity != index or not source.phones or details[index][4] in switchboard_set:
                people.append(original())
                continue
            people.append(copy_of(index, rule))
            truth.append(PlantedPair(index, len(people) - 1, rule))
        else:
            people.append(original())
    return Dataset(people, truth)


def _cumulative(plants):
    total = 0.0
    for rate, rule in plants:
        total += rate
        yield total, rule


if __name__ == "__main__":
    import sys
    import time

    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    started = time.perf_counter()
    data = generate(count)
    elapsed = time.perf_counter() - started
    for person in data.people[:20]:
        print(person)
    print(f"{count} people, {len(data.truth)} planted pairs, {len(data.true_pairs())} true pairs, {elapsed:.1f} s")
