"""Generate a template package (docs/vendor-migration.md) of N listings and M seekers from another vendor.

    .venv/bin/python bench/generate_vendor_package.py LISTINGS SEEKERS OUT(.zip|folder) [--active 0.2] [--agents 40]
        [--activities 2] [--links 1] [--seed 1] [--vendor EstiCRM] [--tenant OUT.yaml]

Japanese data: rents and prices in yen, 東京 and 神奈川 addresses with postal codes, stations with walks,
layouts, names with katakana readings, mobile and fixed phones typed in several ways, some seekers without
an e-mail or a budget. `--active` of the listings and seekers are active (the rest archived); each seeker
has about `--activities` activities (call, mail, visit, note) and `--links` links to listings (an active
seeker's to active listings). Agents: `agentNN@vendor.example.jp` (`--agents` of them), each active
listing and seeker has one. `--tenant` writes the company the package goes into (`estatecrm tenant apply`:
code `bench`, units HQ > TKY > SBY / SJK, admin@example-fudosan.jp, the agents as users of the shops). Writes a ZIP when OUT ends with .zip, else a folder. Deterministic for a seed;
about 3 s for 50,000 listings and 100,000 seekers.
"""

import argparse
import csv
import io
import json
import random
import zipfile
from pathlib import Path

COLUMNS = {
    "agents.csv": ["email", "name", "unit"],
    "listings.csv": ["id", "title", "kind", "status", "price", "address", "postal_code", "city", "layout", "area_m2", "station",
                     "walk_minutes", "built_year", "agent_email", "created_at", "updated_at"],
    "seekers.csv": ["id", "name", "kana", "email", "phone", "kind", "status", "budget_min", "budget_max", "areas", "layouts",
                    "agent_email", "created_at"],
    "activities.csv": ["id", "seeker_id", "listing_id", "kind", "at", "text", "agent_email"],
    "links.csv": ["seeker_id", "listing_id", "kind", "at"],
}
FAMILY = [("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"), ("田中", "タナカ"), ("伊藤", "イトウ"), ("渡辺", "ワタナベ"),
          ("山本", "ヤマモト"), ("中村", "ナカムラ"), ("小林", "コバヤシ"), ("加藤", "カトウ"), ("吉田", "ヨシダ"), ("山田", "ヤマダ"),
          ("佐々木", "ササキ"), ("山口", "ヤマグチ"), ("松本", "マツモト"), ("井上", "イノウエ"), ("木村", "キムラ"), ("林", "ハヤシ")]
GIVEN = [("太郎", "タロウ"), ("花子", "ハナコ"), ("翔太", "ショウタ"), ("美咲", "ミサキ"), ("健一", "ケンイチ"), ("裕子", "ユウコ"),
         ("大輔", "ダイスケ"), ("由美", "ユミ"), ("拓也", "タクヤ"), ("恵子", "ケイコ"), ("涼平", "リョウヘイ"), ("桃子", "モモコ")]
ROMAN = ["sato", "suzuki", "takahashi", "tanaka", "ito", "watanabe", "yamamoto", "nakamura", "kobayashi", "kato", "yoshida", "yamada"]
PLACES = [("150-0002", "渋谷区", "渋谷", "渋谷"), ("153-0064", "目黒区", "下目黒", "目黒"), ("160-0022", "新宿区", "新宿", "新宿三丁目"),
          ("164-0001", "中野区", "中野", "中野"), ("166-0003", "杉並区", "高円寺南", "高円寺"), ("154-0004", "世田谷区", "太子堂", "三軒茶屋"),
          ("211-0004", "川崎市中原区", "新丸子東", "武蔵小杉"), ("220-0011", "横浜市西区", "高島", "横浜")]
BUILDINGS = ["メゾン", "コーポ", "ハイツ", "パークハウス", "グランレジデンス", "ライオンズ", "シティハウス", "レジデンス"]
LAYOUTS = ["ワンルーム", "1K", "1DK", "1LDK", "2DK", "2LDK", "3LDK", "4LDK"]
ACTIVITY_KINDS = ["call", "mail", "visit", "note"]
TEXTS = ["内見希望。土曜午前。", "候補物件を3件送付", "来店。即決せず。", "予算は相談可、駅近重視", "不在、留守電", "ペット可物件希望。小型犬1匹"]
LINK_KINDS = ["introduced", "introduced", "viewed", "offered"]


def when(rng: random.Random, year_from: int, year_to: int) -> str:
    return (f"{rng.randint(year_from, year_to)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T"
            f"{rng.randint(9, 19):02d}:{rng.choice(('00', '15', '30', '45'))}:00+09:00")


def phone(rng: random.Random) -> str:
    """A mobile (090/080/070, 11 digits) or fixed (03 or 045, 10 digits) number, typed in one of several
    ways; one in 200 has a digit too many (a typo the import keeps as typed, with its reason)."""
    prefix = rng.choice(("090", "080", "070", "090", "03", "045"))
    digits = 10 - len(prefix) if prefix in ("03", "045") else 8
    number = prefix + str(rng.randint(10 ** (digits - 1), 10 ** digits - 1))
    if rng.random() < 0.005:
        number += "1"
    style = rng.random()
    if style < 0.5 and len(number) == 11:
        return f"{number[:3]}-{number[3:7]}-{number[7:]}"
    if style < 0.6:
        return "+81 " + number[1:]
    return number


def generate(listings: int, seekers: int, *, active: float = 0.2, agents: int = 40, activities: float = 2, links: float = 1, seed: int = 1,
             vendor: str = "EstiCRM") -> dict[str, str]:
    """The package's members: name -> text."""
    rng = random.Random(seed)
    agent_emails = [f"agent{number:02d}@vendor.example.jp" for number in range(1, agents + 1)]
    out: dict[str, io.StringIO] = {name: io.StringIO() for name in COLUMNS}
    writers = {name: csv.writer(out[name], lineterminator="\n") for name in COLUMNS}
    for name, columns in COLUMNS.items():
        writers[name].writerow(columns)
    for number, email in enumerate(agent_emails):
        family, given = FAMILY[number % len(FAMILY)], GIVEN[number % len(GIVEN)]
        writers["agents.csv"].writerow([email, f"{family[0]} {given[0]}", ""])
    active_listings, archived_listings = [], []
    write_listing = writers["listings.csv"].writerow
    for number in range(1, listings + 1):
        key = f"L-{number:06d}"
        is_active = rng.random() < active
        (active_listings if is_active else archived_listings).append(key)
        postal, city, town, station = rng.choice(PLACES)
        is_rent = rng.random() < 0.7
        price = rng.randrange(45_000, 250_000, 500) if is_rent else rng.randrange(18_000_000, 120_000_000, 100_000)
        created = when(rng, 2019, 2026)
        write_listing([key, f"{rng.choice(BUILDINGS)}{town} {rng.randint(1, 12)}0{rng.randint(1, 9)}", "rent" if is_rent else "sale",
                       "active" if is_active else "archived", price, f"{city}{town}{rng.randint(1, 5)}-{rng.randint(1, 30)}-{rng.randint(1, 20)}",
                       postal, city, rng.choice(LAYOUTS), f"{rng.randint(18, 110)}.{rng.randint(0, 99):02d}", station, rng.randint(1, 20),
                       rng.randint(1975, 2025), rng.choice(agent_emails), created, created])
    write_seeker, write_activity, write_link = writers["seekers.csv"].writerow, writers["activities.csv"].writerow, writers["links.csv"].writerow
    activity_number = 0
    all_listings = active_listings + archived_listings
    for number in range(1, seekers + 1):
        key = f"S-{number:07d}"
        is_active = rng.random() < active
        family, given = rng.choice(FAMILY), rng.choice(GIVEN)
        is_rent = rng.random() < 0.75
        budget_max = rng.randrange(60_000, 300_000, 5_000) if is_rent else rng.randrange(20_000_000, 100_000_000, 1_000_000)
        budget_min = "" if rng.random() < 0.3 else int(budget_max * 0.7)
        email = "" if rng.random() < 0.2 else f"{rng.choice(ROMAN)}.{number}@example.jp"
        agent = rng.choice(agent_emails)
        write_seeker([key, f"{family[0]} {given[0]}", f"{family[1]} {given[1]}", email, phone(rng), "rent" if is_rent else "buy",
                      "active" if is_active else "archived", budget_min, budget_max if rng.random() < 0.9 else "",
                      ";".join(rng.sample([place[1] for place in PLACES], rng.randint(1, 3))), ";".join(rng.sample(LAYOUTS, rng.randint(1, 2))),
                      agent, when(rng, 2020, 2026)])
        pool = active_listings if is_active and active_listings else all_listings
        for _ in range(int(activities * 2 * rng.random() + 0.5)):
            activity_number += 1
            write_activity([f"A-{activity_number:08d}", key, rng.choice(pool) if rng.random() < 0.3 else "", rng.choice(ACTIVITY_KINDS),
                            when(rng, 2020, 2026), rng.choice(TEXTS), agent])
        linked = set()
        for _ in range(int(links * 2 * rng.random() + 0.5)):
            listing = rng.choice(pool)
            kind = rng.choice(LINK_KINDS)
            if (listing, kind) in linked:
                continue
            linked.add((listing, kind))
            write_link([key, listing, kind, when(rng, 2020, 2026)])
    manifest = {"format": "estatecrm-vendor/1", "vendor": vendor, "region": "JP", "currency": "JPY", "exported_at": "2026-11-30T18:00:00+09:00"}
    return {"manifest.json": json.dumps(manifest, ensure_ascii=False, indent=2), **{name: buffer.getvalue() for name, buffer in out.items()}}


def tenant_yaml(agents: int, code: str = "bench") -> str:
    lines = ["company:", f"  code: {code}", '  name: "ベンチ不動産株式会社"', "org_units:", '  - {code: HQ, name: "本社"}',
             '  - {code: TKY, name: "東京エリア", parent: HQ}', '  - {code: SBY, name: "渋谷店", parent: TKY}',
             '  - {code: SJK, name: "新宿店", parent: TKY}', "users:", '  - {email: admin@example-fudosan.jp, name: "管理 太郎", org: HQ, role: admin}']
    for number in range(1, agents + 1):
        family, given = FAMILY[(number - 1) % len(FAMILY)], GIVEN[(number - 1) % len(GIVEN)]
        lines.append(f'  - {{email: agent{number:02d}@vendor.example.jp, name: "{family[0]} {given[0]}", org: {"SBY" if number % 2 else "SJK"}, '
                     f"role: agent}}")
    return "\n".join(lines) + "\n"


def write(members: dict[str, str], path: Path) -> Path:
    if path.suffix == ".zip":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            for name, text in members.items():
                archive.writestr(name, text)
        return path
    path.mkdir(parents=True, exist_ok=True)
    for name, text in members.items():
        (path / name).write_text(text, encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("listings", type=int)
    parser.add_argument("seekers", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--active", type=float, default=0.2)
    parser.add_argument("--agents", type=int, default=40)
    parser.add_argument("--activities", type=float, default=2)
    parser.add_argument("--links", type=float, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--vendor", default="EstiCRM")
    parser.add_argument("--tenant", type=Path)
    options = parser.parse_args()
    members = generate(options.listings, options.seekers, active=options.active, agents=options.agents, activities=options.activities,
                       links=options.links, seed=options.seed, vendor=options.vendor)
    write(members, options.out)
    if options.tenant:
        options.tenant.write_text(tenant_yaml(options.agents), encoding="utf-8")
    print(" ".join(f"{name}={text.count(chr(10)) - 1}" for name, text in members.items() if name.endswith(".csv")))


if __name__ == "__main__":
    main()
