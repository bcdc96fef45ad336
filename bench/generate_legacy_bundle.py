"""Generate a realistic desktop-app export bundle (FORMAT.md, version 5) of N follow-up cases.

    .venv/bin/python bench/generate_legacy_bundle.py CASES OUT.zip [--customers N] [--activities 5] [--conditions 8]
        [--staff 60] [--seed 1] [--tenant OUT.yaml]

CP932 CSV members with CRLF line ends and RFC 4180 quoting (memos with line breaks and commas), member
names in CP932 without the UTF-8 flag (as the desktop app writes them), columns of 顧客.csv in another
order plus an unknown column, era dates (`H04/02/08`, `S36.8.6`, `平成30年4月1日`), phones typed with
full-width digits, `ー` or `+81`, half-width and hiragana readings, upper-case e-mail addresses, staff
without an e-mail, dangling customers, tags and ranks that the tenant does not register, and some
attachments under `添付/`. Deterministic for a seed. `--tenant` writes the matching tenant YAML (the
sample's units, one user per staff member with an e-mail, the sample's masters).
"""

import argparse
import csv
import io
import random
import zipfile

UNITS = [("HQ", "本社", ""), ("TKY", "東京エリア", "HQ"), ("SBY", "渋谷店", "TKY"), ("SJK", "新宿店", "TKY"),
         ("KNG", "神奈川エリア", "HQ"), ("MKS", "武蔵小杉店", "KNG")]
SHOPS = ["SBY", "SJK", "MKS"]
STATUSES = [("反響対応中", "追客中"), ("内見調整中", "追客中"), ("条件ヒアリング中", "追客中"), ("申込書受領", "申込中"),
            ("審査中", "申込中"), ("契約完了", "契約済"), ("他決", "追客終了"), ("連絡不通", "追客終了"), ("様子見", "保留")]
# Mostly eligible (追客中 / 申込中), as in an office that exports what it still follows up.
STATUS_WEIGHTS = [30, 25, 12, 8, 7, 6, 5, 4, 3]
RANKS = ["A", "B", "C", "S", "見込み大", ""]
TAGS = ["ファミリー", "ペット", "単身", "外国籍", "学生", "急ぎ", "投資", "新婚", "法人", "転勤", "高予算", "高齢者", "要フォロー", "紹介"]
FAMILY = [("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"), ("田中", "タナカ"), ("伊藤", "イトウ"), ("渡辺", "ワタナベ"),
          ("山本", "ヤマモト"), ("中村", "ナカムラ"), ("小林", "コバヤシ"), ("加藤", "カトウ"), ("吉田", "ヨシダ"), ("山田", "ヤマダ"),
          ("佐々木", "ササキ"), ("山口", "ヤマグチ"), ("松本", "マツモト"), ("井上", "イノウエ"), ("木村", "キムラ"), ("林", "ハヤシ"),
          ("斎藤", "サイトウ"), ("清水", "シミズ"), ("石井", "イシイ"), ("福田", "フクダ"), ("西村", "ニシムラ"), ("森", "モリ")]
GIVEN = [("太郎", "タロウ"), ("花子", "ハナコ"), ("翔太", "ショウタ"), ("美咲", "ミサキ"), ("健一", "ケンイチ"), ("裕子", "ユウコ"),
         ("大輔", "ダイスケ"), ("由美", "ユミ"), ("拓也", "タクヤ"), ("恵子", "ケイコ"), ("涼平", "リョウヘイ"), ("桃子", "モモコ"),
         ("康弘", "ヤスヒロ"), ("千代", "チヨ"), ("亮介", "リョウスケ"), ("加奈", "カナ")]
ROMAN = ["sato", "suzuki", "takahashi", "tanaka", "ito", "watanabe", "yamamoto", "nakamura", "kobayashi", "kato", "yoshida", "yamada"]
ADDRESSES = [("150-0002", "東京都渋谷区渋谷"), ("153-0064", "東京都目黒区下目黒"), ("160-0022", "東京都新宿区新宿"),
             ("211-0004", "神奈川県川崎市中原区新丸子東"), ("220-0011", "神奈川県横浜市西区高島"), ("154-0004", "東京都世田谷区太子堂")]
EMPLOYERS = ["株式会社山田商事", "有限会社渡辺ガス", "坂本銀行合同会社", "東京都庁", "", "", ""]
LAYOUTS = ["ワンルーム", "1K", "1DK", "1LDK", "2K", "2DK", "2LDK", "3K", "3DK", "3LDK", "4LDK", "5K以上"]
FLAGS = ["バス・トイレ別", "2階以上", "駐車場あり", "ペット相談", "オートロック", "室内洗濯機置場", "エアコン付き", "南向き", "角部屋",
         "宅配ボックス", "独立洗面台", "追い焚き", "都市ガス", "エレベーター", "敷金礼金0", "築浅", "陽当たり良好", "食洗機", "カードキー"]
STATIONS = ["JR山手線/渋谷駅", "JR山手線/新宿駅", "東急東横線/武蔵小杉駅", "東急東横線/中目黒駅", "京王線", "小田急線/下北沢駅"]
AREAS = ["東京都渋谷区", "東京都目黒区", "東京都新宿区", "神奈川県川崎市中原区", "東京都世田谷区"]
MOVE_IN = ["即入居", "1ヶ月以内", "3ヶ月以内", "半年以内", "1年以内", "未定"]
MEDIA = ["SUUMO", "HOME'S", "at home", "自社HP", "来店", "紹介"]
ACTIVITY_KINDS = ["電話", "メール送信", "メール受信", "来店", "案内", "来店予定", "LINE", "メモ"]
MEMOS = ["ペット可物件希望。\n小型犬1匹", "土日のみ連絡可", "転勤のため急ぎ、3月までに入居希望", "予算は相談可、駅近重視", ""]
BODIES = ["ご連絡しました", "物件資料を送付しました。\n返信待ち", "内見の日程を調整中", "条件を再確認、予算アップの可能性あり", "不在、留守電"]
FULL_DIGITS = str.maketrans("0123456789-", "０１２３４５６７８９－")
ERAS = [("R", 2018), ("H", 1988), ("S", 1925)]


class CP932Name(zipfile.ZipInfo):
    """A member whose name is stored in CP932 without the UTF-8 flag, as the desktop app writes it."""

    def _encodeFilenameFlags(self):
        return self.filename.encode("cp932"), self.flag_bits & ~0x800


def member(name: str) -> zipfile.ZipInfo:
    info = CP932Name(name, date_time=(2026, 11, 20, 9, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def era_date(rng: random.Random, year: int, month: int, day: int) -> str:
    style = rng.random()
    letter, offset = next((letter, offset) for letter, offset in ERAS if year > offset)
    era_year = year - offset
    if style < 0.4:
        return f"{letter}{era_year:02d}/{month:02d}/{day:02d}"
    if style < 0.7 and letter == "H":
        return f"平成{era_year}年{month}月{day}日"
    return f"{letter}{era_year}.{month}.{day}"


def a_date(rng: random.Random, first: int, last: int) -> tuple[int, int, int]:
    return rng.randint(first, last), rng.randint(1, 12), rng.randint(1, 28)


def phone(rng: random.Random, mobile: bool) -> str:
    digits = f"0{rng.choice('789')}0{rng.randint(1000, 9999)}{rng.randint(1000, 9999)}" if mobile else f"03{rng.randint(1000, 9999)}{rng.randint(1000, 9999)}"
    shaped = f"{digits[:3]}-{digits[3:7]}-{digits[7:]}" if mobile else f"{digits[:2]}-{digits[2:6]}-{digits[6:]}"
    style = rng.random()
    if style < 0.15:
        return shaped.translate(FULL_DIGITS)
    if style < 0.25:
        return digits
    if style < 0.3:
        return shaped.replace("-", "ー")
    if style < 0.35 and mobile:
        return f"+81 {digits[1:3]} {digits[3:7]} {digits[7:]}"
    if style < 0.37:
        return shaped[:7]  # cut off: kept as typed, the case needs review
    return shaped


def reading(rng: random.Random, kana: str) -> str:
    style = rng.random()
    if style < 0.1:
        import unicodedata

        return "".join(chr(ord(char) - 0x60) if "ァ" <= char <= "ヶ" else char for char in unicodedata.normalize("NFKC", kana))
    if style < 0.2:
        half = {"タ": "ﾀ", "ナ": "ﾅ", "カ": "ｶ", "サ": "ｻ", "イ": "ｲ", "ヤ": "ﾔ", "マ": "ﾏ", "モ": "ﾓ", "リ": "ﾘ", "ウ": "ｳ", "ト": "ﾄ"}
        return "".join(half.get(char, char) for char in kana)
    return kana


def writer(archive: zipfile.ZipFile, name: str, header: list[str]):
    binary = archive.open(member(name), "w", force_zip64=True)
    text = io.TextIOWrapper(binary, encoding="cp932", newline="", write_through=False)
    out = csv.writer(text, lineterminator="\r\n")
    out.writerow(header)
    return text, out


def generate(cases: int, out: str, *, customers: int, activities: int, conditions: int, staff_count: int, seed: int) -> dict:
    rng = random.Random(seed)
    counts: dict[str, int] = {}
    staff = []
    for number in range(1, staff_count + 1):
        family, _kana = rng.choice(FAMILY)
        given, _ = rng.choice(GIVEN)
        email = "" if number % 23 == 0 else f"staff{number:03d}@example-fudosan.jp"
        if email and number % 7 == 0:
            email = email.upper()
        staff.append((f"S{number:03d}", f"{family}{rng.choice(' 　')}{given}", email, SHOPS[number % 3] if number % 11 else "TKY",
                      "退職" if number % 29 == 0 else "在籍"))
    codes = [row[0] for row in staff]
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1, allowZip64=True) as archive:
        text, rows = writer(archive, "組織.csv", ["組織コード", "組織名", "親組織コード"])
        rows.writerows(UNITS)
        text.close()
        counts["組織.csv"] = len(UNITS)
        text, rows = writer(archive, "社員.csv", ["社員コード", "氏名", "メールアドレス", "組織コード", "在籍区分"])
        rows.writerows(staff)
        text.close()
        counts["社員.csv"] = len(staff)
        text, rows = writer(archive, "追客ステータス.csv", ["ステータス名", "区分"])
        rows.writerows(STATUSES)
        text.close()
        counts["追客ステータス.csv"] = len(STATUSES)

        # 顧客.csv: another column order than FORMAT.md's table and an unknown column, as real exports have.
        text, rows = writer(archive, "顧客.csv", ["性別", "生年月日", "郵便番号", "住所1", "住所2", "電話番号", "携帯番号", "FAX", "メールアドレス",
                                                 "携帯メール", "勤務先", "年収", "家族人数", "現在の住居間取り", "登録日時", "顧客番号", "氏名",
                                                 "氏名カナ", "予備項目"])
        for number in range(1, customers + 1):
            (family, family_kana), (given, given_kana) = rng.choice(FAMILY), rng.choice(GIVEN)
            year, month, day = a_date(rng, 1940, 2004)
            birth = "" if rng.random() < 0.3 else (era_date(rng, year, month, day) if rng.random() < 0.3 else f"{year}/{month:02d}/{day:02d}")
            postal, address = rng.choice(ADDRESSES)
            postal = rng.choice((postal, postal.replace("-", ""), f"〒{postal}"))
            email = f"{rng.choice(ROMAN)}.{number}@example.com" if rng.random() < 0.7 else ""
            if email and rng.random() < 0.1:
                email = email.upper()
            rows.writerow([
                rng.choice(("男性", "女性", "")), birth, postal, f"{address}{rng.randint(1, 4)}丁目", f"{rng.randint(1, 30)}-{rng.randint(1, 20)}",
                phone(rng, False) if rng.random() < 0.3 else "", phone(rng, True) if rng.random() < 0.85 else "",
                phone(rng, False) if rng.random() < 0.05 else "", email, "", rng.choice(EMPLOYERS),
                str(rng.choice((300, 450, 600, 750, 1000))) if rng.random() < 0.5 else "", str(rng.randint(1, 5)) if rng.random() < 0.5 else "",
                rng.choice(LAYOUTS + [""] * 4), f"{rng.randint(2010, 2026)}/{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d} 10:00:00",
                f"C{number:07d}", f"{family}{rng.choice(' 　')}{given}", reading(rng, f"{family_kana} {given_kana}"), "",
            ])
        text.close()
        counts["顧客.csv"] = customers

        case_files = {
            "追客.csv": ["追客番号", "顧客番号", "種別", "追客ステータス", "追客開始日", "ランク", "主担当", "副担当", "タグ", "物件自動紹介メール",
                        "初回反響日", "初回反響媒体", "初回反響物件番号", "初回反響物件名", "追客メモ", "最終更新日時"],
        }
        text, rows = writer(archive, "追客.csv", case_files["追客.csv"])
        started: list[tuple[int, int, int]] = []
        attached: list[str] = []
        for number in range(1, cases + 1):
            # The first `customers` cases each have their own customer; the rest share one; a few dangle.
            customer = number if number <= customers else rng.randint(1, customers)
            if rng.random() < 0.002:
                customer = customers + number
            year, month, day = a_date(rng, 2019, 2026)
            started.append((year, month, day))
            start = f"{year}/{month:02d}/{day:02d}" if rng.random() < 0.95 else era_date(rng, year, month, day)
            subs = ";".join(rng.sample(codes, rng.choice((0, 1, 1, 2, 3)))) if rng.random() < 0.995 else ";".join(codes[:25])
            tags = ";".join(rng.sample(TAGS, rng.choice((0, 1, 2, 3)))) if rng.random() < 0.995 else ";".join(TAGS)
            status = rng.choices(STATUSES, STATUS_WEIGHTS)[0][0]
            rows.writerow([
                f"T{number:07d}", f"C{customer:07d}", rng.choice(("賃貸", "賃貸", "売買")), status, start, rng.choice(RANKS),
                rng.choice(codes) if rng.random() < 0.99 else "", subs, tags, rng.choice(("配信する", "配信しない", "配信しない")),
                f"{year}/{month:02d}/{max(day - 2, 1):02d}", rng.choice(MEDIA), f"P{rng.randint(100000, 999999)}",
                f"グランハイツ{rng.randint(100, 999)}", rng.choice(MEMOS), f"{year}/{month:02d}/{day:02d} 18:00:00",
            ])
            if rng.random() < 0.01:
                attached.append(f"T{number:07d}")
        text.close()
        counts["追客.csv"] = cases

        text, rows = writer(archive, "希望条件.csv", ["追客番号", "条件項目", "条件値"])
        written = 0
        for number in range(1, cases + 1):
            case = f"T{number:07d}"
            low = rng.choice((3.5, 5, 6.5, 8, 10))
            items = [("賃料下限", f"{low}"), ("賃料上限", f"{low + rng.choice((2, 3, 4.5))}"), ("間取り", rng.choice(LAYOUTS)),
                     ("駅徒歩", f"{rng.randint(1, 30)}分以内"), ("築年数", rng.choice(("新築", f"{rng.randint(1, 40)}年以内"))),
                     ("沿線駅", rng.choice(STATIONS)), ("こだわり", rng.choice(FLAGS)), ("エリア", rng.choice(AREAS)),
                     ("入居時期", rng.choice(MOVE_IN)), ("管理用コメント", "駐車場は近隣でも可\n要確認"), ("間取り", rng.choice(LAYOUTS))]
            chosen = items[:conditions] if conditions <= len(items) else items + [("こだわり", rng.choice(FLAGS))] * (conditions - len(items))
            for item, value in chosen:
                rows.writerow([case, item, value])
            written += len(chosen)
        text.close()
        counts["希望条件.csv"] = written

        text, rows = writer(archive, "紹介物件.csv", ["追客番号", "物件番号", "物件名", "賃料・価格", "間取り", "紹介日", "紹介方法", "反応"])
        written = 0
        for number in range(1, cases + 1):
            year, month, day = started[number - 1]
            for _ in range(rng.choice((0, 0, 1, 2))):
                rows.writerow([f"T{number:07d}", f"P{rng.randint(100000, 999999)}", f"メゾン{rng.randint(100, 999)}", rng.choice(("7.5", "12", "")),
                               rng.choice(LAYOUTS), f"{year}/{month:02d}/{min(day + 1, 28):02d}", rng.choice(("メール", "LINE", "来店", "郵送")),
                               rng.choice(("興味あり", "検討中", "見送り", ""))])
                written += 1
        # Rows whose case is not in 追客.csv (dangling references).
        for number in range(cases + 1, cases + 1 + max(cases // 1000, 1)):
            rows.writerow([f"T{number:07d}", "P000001", "メゾン000", "8", "1K", "2024/01/01", "メール", ""])
            written += 1
        text.close()
        counts["紹介物件.csv"] = written

        text, rows = writer(archive, "活動履歴.csv", ["追客番号", "活動日時", "活動種別", "社員コード", "件名", "内容", "状態"])
        written = 0
        for number in range(1, cases + 1):
            year, month, day = started[number - 1]
            for index in range(activities):
                kind = rng.choice(ACTIVITY_KINDS)
                state = "未完了" if kind == "来店予定" and rng.random() < 0.3 else "完了"
                when = f"{year}/{month:02d}/{min(day + index, 28):02d} {rng.randint(9, 20):02d}:{rng.choice(('00', '30'))}:00"
                rows.writerow([f"T{number:07d}", when, kind, rng.choice(codes) if rng.random() < 0.9 else "", rng.choice(("", "", "ご提案")),
                               rng.choice(BODIES), state])
                written += 1
        text.close()
        counts["活動履歴.csv"] = written

        text, rows = writer(archive, "添付ファイル.csv", ["追客番号", "ファイル名", "格納パス", "登録日時"])
        for case in attached:
            rows.writerow([case, f"申込書_{case}.pdf", f"添付/{case}/申込書_{case}.pdf", "2024/01/01 10:00:00"])
        text.close()
        counts["添付ファイル.csv"] = len(attached)
        for case in attached:
            archive.writestr(member(f"添付/{case}/申込書_{case}.pdf"), b"%PDF-1.4\n% bench attachment " + case.encode() + b"\n%%EOF\n")

        text, rows = writer(archive, "エクスポート情報.csv", ["項目", "値"])
        rows.writerows([("出力日時", "2026/11/20 09:00:00"), ("会社コード", "K0001"), ("バージョン", "5")])
        rows.writerows((f"件数:{name}", str(count)) for name, count in counts.items())
        text.close()
    return {"staff": staff, "counts": counts}


def tenant_yaml(staff: list[tuple], code: str = "bench") -> str:
    """The tenant (estatecrm tenant apply format) the bundle migrates into: the sample's units and masters,
    one agent per staff member with an e-mail (a few left out, as in the sample), and an admin."""
    lines = ["company:", f"  code: {code}", '  name: "ベンチ不動産株式会社"', "org_units:"]
    for unit, name, parent in UNITS:
        lines.append(f'  - {{code: {unit}, name: "{name}"' + (f", parent: {parent}" if parent else "") + "}")
    lines += ["users:", '  - {email: admin@example-fudosan.jp, name: "管理 太郎", org: HQ, role: admin}']
    for number, (_code, name, email, unit, state) in enumerate(staff, start=1):
        if email and state == "在籍" and number % 17:
            lines.append(f'  - {{email: {email.lower()}, name: "{name}", org: {unit}, role: agent}}')
    lines += ['ranks: ["A", "B", "C", "S"]', "statuses:", '  "追客中": ["反響対応中", "内見調整中"]', '  "申込中": ["申込書受領", "審査中"]',
              'tags: ["ファミリー", "ペット", "単身", "外国籍", "学生", "急ぎ", "投資", "新婚", "法人", "転勤", "高予算", "高齢者"]']
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("cases", type=int)
    parser.add_argument("out")
    parser.add_argument("--customers", type=int)
    parser.add_argument("--activities", type=int, default=5)
    parser.add_argument("--conditions", type=int, default=8)
    parser.add_argument("--staff", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tenant")
    options = parser.parse_args()
    customers = options.customers or max(options.cases * 4 // 5, 1)
    result = generate(options.cases, options.out, customers=customers, activities=options.activities, conditions=options.conditions,
                      staff_count=options.staff, seed=options.seed)
    if options.tenant:
        with open(options.tenant, "w", encoding="utf-8") as handle:
            handle.write(tenant_yaml(result["staff"]))
    print(" ".join(f"{name}={count}" for name, count in result["counts"].items()))


if __name__ == "__main__":
    main()
