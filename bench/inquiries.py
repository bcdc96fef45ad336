"""Inquiry mail intake benchmark (issue 11: 10,000 inquiry mails in under 60 s on SQLite).

    .venv/bin/python bench/inquiries.py [--mails 10000] [--workdir DIR] [--repeat]

Creates a company with three sources (SUUMO preset, the website preset, a portal read by labels only;
each with a default assignee who gets the notification mail), writes `--mails` .eml files like the
test mails in inquiries/tests/mails/ (SUUMO ISO-2022-JP 45 %, website Shift_JIS 25 %, HTML-only UTF-8
base64 15 %, the labels-only portal 10 %, unrecognized newsletters 5 %; one in 20 inquiries comes from a
customer of an earlier mail, so it is linked to them), then measures one
`estatecrm inquiries import-eml --company bench DIR --json` in its own process and prints the
seconds, mails/s and peak memory. `--repeat` runs the same import again (every mail a duplicate).
Database: DATABASE_URL (default: a fresh SQLite file in the work directory).
"""

import argparse
import base64
import json
import random
import subprocess
import time
from pathlib import Path

from benchlib import ESTATECRM, PYTHON, environment, measured, run

SETUP = """
import django; django.setup()
from estatecrm.core import testing
from estatecrm.inquiries.models import InquirySource
c = testing.make_company('bench', 'ベンチ不動産')
hq = testing.make_unit(c, 'HQ', name='本社'); sby = testing.make_unit(c, 'SBY', parent=hq, name='渋谷店')
agent = testing.make_user(c, sby, email='agent@bench.example.jp', name='渋谷 一郎')
testing.make_user(c, hq, role='admin', email='admin@bench.example.jp', name='管理 太郎')
InquirySource.objects.create(company=c, code='suumo', name='SUUMO', preset='suumo', org_unit=sby, default_assignee=agent,
                             from_contains='jds.suumo.jp', subject_contains='反響', position=1)
InquirySource.objects.create(company=c, code='website', name='自社HP', preset='website', org_unit=hq, default_assignee=agent,
                             from_contains='form@bench.example.jp', position=2)
InquirySource.objects.create(company=c, code='homes', name="LIFULL HOME'S", org_unit=sby, default_assignee=agent,
                             from_contains='portal-homes.example.jp', position=3, labels={
    '問合せ番号': 'inquiry_id', '物件番号': 'listing_ref', '物件名': 'listing_name', '賃料': 'listing_price', '間取り': 'listing_layout',
    '交通': 'listing_station', '所在地': 'listing_address', 'お名前': 'customer_name', 'お名前(カナ)': 'customer_kana',
    '電話番号': 'phone', 'メールアドレス': 'email', 'お問合せ内容': 'message'})
"""

FAMILY = "佐藤 鈴木 高橋 田中 伊藤 渡辺 山本 中村 小林 加藤 吉田 山田 佐々木 山口 松本 井上 木村 林 斎藤 清水".split()
GIVEN = "太郎 花子 一郎 美咲 健太 陽子 大輔 由美 翔太 彩 直樹 恵 拓也 愛 誠 真由美".split()
KANA = "サトウ スズキ タカハシ タナカ イトウ ワタナベ ヤマモト ナカムラ コバヤシ カトウ".split()
STATIONS = [("ＪＲ山手線", "渋谷"), ("東急東横線", "代官山"), ("東京メトロ銀座線", "表参道"), ("小田急線", "下北沢"), ("京王井の頭線", "明大前")]
TOWNS = ["渋谷区道玄坂", "目黒区上目黒", "世田谷区北沢", "港区南青山", "杉並区和泉"]
LAYOUTS = ["1K", "1DK", "1LDK", "2LDK", "3LDK", "ワンルーム"]
MESSAGES = ["今週末に内見できますか。\n駐車場の空きも教えてください。", "空室確認をお願いします。", "初期費用の目安を教えてください。",
            "ペット（小型犬）は相談できますか。\n在宅勤務なのでネット環境も知りたいです。"]


def headers(sender: str, subject_word: str, message_id: str, content_type: str, encoding: str) -> bytes:
    return ("\r\n".join([f"From: {sender}", "To: shop@bench.example.jp", f"Subject: {subject_word}",
                         "Date: Sun, 06 Dec 2026 10:15:04 +0900", f"Message-ID: <{message_id}>", "MIME-Version: 1.0",
                         f"Content-Type: {content_type}", f"Content-Transfer-Encoding: {encoding}"]) + "\r\n\r\n").encode("ascii")


def word(text: str, charset: str, codec: str) -> str:
    return f"=?{charset}?B?{base64.b64encode(text.encode(codec)).decode()}?="


def person(rng: random.Random, number: int) -> dict:
    return {"name": f"{rng.choice(FAMILY)} {rng.choice(GIVEN)}", "kana": f"{rng.choice(KANA)} タロウ",
            "phone": f"090-{1000 + number // 10000 % 9000:04d}-{number % 10000:04d}", "email": f"customer{number}@example.jp"}


def listing(rng: random.Random, number: int) -> dict:
    line, station = rng.choice(STATIONS)
    return {"ref": f"{100000000000 + number % 3000}", "name": f"パークハイツ{station} {rng.randint(1, 9)}0{rng.randint(1, 5)}",
            "line": line, "station": station, "walk": rng.randint(1, 15), "address": f"東京都{rng.choice(TOWNS)}{rng.randint(1, 5)}丁目",
            "rent": f"{rng.randint(60, 200) / 10}万円", "layout": rng.choice(LAYOUTS), "area": f"{rng.randint(180, 800) / 10}m2"}


def suumo_mail(number: int, who: dict, item: dict, rng: random.Random) -> bytes:
    body = (f"株式会社ベンチ不動産  渋谷店 御中\n反響到着日時 2026/12/06 10:15:00\nID:118200000101\n連番:R{number:010d}\n"
            f"お問合せ企画:SUUMOネット/賃貸物件枠問い合わせ\n\n■問合せ物件\n物件種別:マンション\n物件コード:{item['ref']}\n物件名:{item['name']}\n"
            f"最寄り駅:{item['line']}/{item['station']} 歩{item['walk']}分\n所在地:{item['address']}\n賃料:{item['rent']}\n間取り:{item['layout']}\n"
            f"専有面積:{item['area']}\n\n■お客様プロフィール\n名前(漢字):{who['name']}\n名前(カナ):{who['kana']}\nメールアドレス:{who['email']}\n"
            f"TEL:{who['phone']}\nお問合せ内容:\n{rng.choice(MESSAGES)}\n━━━━━━━━━━━━━━━━━━━━\nリクルートJDS\n")
    return headers(f"{word('リクルートJDS', 'ISO-2022-JP', 'iso2022_jp')} <system@jds.suumo.jp>",
                   word("[リクルートＪＤＳ]反響お知らせメール", "ISO-2022-JP", "iso2022_jp"), f"{number}@jds.suumo.jp",
                   'text/plain; charset="ISO-2022-JP"', "7bit") + body.replace("\n", "\r\n").encode("iso2022_jp")


def website_mail(number: int, who: dict, item: dict, rng: random.Random) -> bytes:
    body = (f"ホームページからお問い合わせがありました。\n\n【お問い合わせ番号】W-{number:08d}\n【お問い合わせ種別】来店予約\n"
            f"【お名前】{who['name']}\n【フリガナ】{who['kana']}\n【電話番号】{who['phone']}\n【メールアドレス】{who['email']}\n"
            f"【物件名】{item['name']}\n【ご希望の入居時期】1ヶ月以内\n【お問い合わせ内容】\n{rng.choice(MESSAGES)}\n----------------\n")
    return headers(f"{word('ベンチ不動産 HP', 'Shift_JIS', 'cp932')} <form@bench.example.jp>", word("【HP】お問い合わせ", "Shift_JIS", "cp932"),
                   f"form-{number}@bench.example.jp", 'text/plain; charset="Shift_JIS"', "8bit") + body.replace("\n", "\r\n").encode("cp932")


def html_mail(number: int, who: dict, item: dict, rng: random.Random) -> bytes:
    rows = [("お問い合わせ番号", f"W-{number:08d}"), ("お名前", who["name"]), ("フリガナ", who["kana"]), ("電話番号", who["phone"]),
            ("メールアドレス", who["email"]), ("物件名", item["name"]), ("お問い合わせ内容", rng.choice(MESSAGES).replace("\n", "<br>"))]
    markup = ("<html><head><title>お問い合わせ</title></head><body><p>お問い合わせがありました。</p><table>"
              + "".join(f"<tr><th>{label}</th><td>{value}</td></tr>" for label, value in rows) + "</table></body></html>")
    return headers("form@bench.example.jp", word("【HP】お問い合わせ", "UTF-8", "utf-8"), f"html-{number}@bench.example.jp",
                   'text/html; charset="UTF-8"', "base64") + base64.encodebytes(markup.encode("utf-8")).replace(b"\n", b"\r\n")


def portal_mail(number: int, who: dict, item: dict, rng: random.Random) -> bytes:
    body = (f"ベンチ不動産 様\n\n下記のお客様からお問い合わせがありました。\n\n【問合せ番号】\nH-{number}\n【物件番号】\nHM-{item['ref']}\n"
            f"【物件名】\n{item['name']}\n【賃料】\n{item['rent']}\n【間取り】\n{item['layout']}\n"
            f"【交通】\n{item['line']}「{item['station']}」駅 徒歩{item['walk']}分\n【所在地】\n{item['address']}\n\n【お名前】\n{who['name']}\n"
            f"【お名前（カナ）】\n{who['kana']}\n【電話番号】\n{who['phone']}\n【メールアドレス】\n{who['email']}\n【お問合せ内容】\n"
            f"{rng.choice(MESSAGES)}\n\n====================\n")
    return headers(f"{word('ホームズ', 'ISO-2022-JP', 'iso2022_jp')} <toiawase@portal-homes.example.jp>",
                   word("【HOME'S】お客様からの問合せ", "ISO-2022-JP", "iso2022_jp"), f"homes-{number}@portal-homes.example.jp",
                   'text/plain; charset="ISO-2022-JP"', "7bit") + body.replace("\n", "\r\n").encode("iso2022_jp")


def newsletter(number: int, who: dict, item: dict, rng: random.Random) -> bytes:
    return headers("news@vendor.example.com", word("【新着物件のご紹介】", "ISO-2022-JP", "iso2022_jp"), f"news-{number}@vendor.example.com",
                   'text/plain; charset="ISO-2022-JP"', "7bit") + f"物件名：{item['name']}\r\n".encode("iso2022_jp")


def write_mails(folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(11)
    kinds = [suumo_mail] * 45 + [website_mail] * 25 + [html_mail] * 15 + [portal_mail] * 10 + [newsletter] * 5
    for number in range(count):
        # One in 20 inquiries is from the customer of an earlier mail (the same phone): a linked case.
        who = person(rng, rng.randrange(number) if number > 100 and rng.random() < 0.05 else number)
        (folder / f"{number:06d}.eml").write_bytes(rng.choice(kinds)(number, who, listing(rng, number), rng))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mails", type=int, default=10_000)
    parser.add_argument("--workdir")
    parser.add_argument("--repeat", action="store_true", help="import the same files again (all duplicates)")
    options = parser.parse_args()
    workdir, env = environment(options.workdir)
    folder = workdir / "mails"
    started = time.perf_counter()
    if folder.exists():
        for stale in folder.glob("*.eml"):
            stale.unlink()
    write_mails(folder, options.mails)
    print(f"wrote {options.mails:,} mails in {time.perf_counter() - started:.1f}s "
          f"({sum(path.stat().st_size for path in folder.glob('*.eml')) / 1e6:.1f} MB)")
    if env["DATABASE_URL"].startswith("postgres"):
        run(ESTATECRM + ["flush", "--noinput"], env, stdout=subprocess.DEVNULL)
    run(ESTATECRM + ["migrate", "-v0"], env)
    run([PYTHON, "-c", SETUP], env)
    command = ESTATECRM + ["inquiries", "import-eml", "--company", "bench", str(folder), "--json"]
    for label in ("import", "again (duplicates)") if options.repeat else ("import",):
        seconds, peak, cpu, output = measured(command, env)
        result = json.loads(output.strip().splitlines()[-1])
        result.pop("errors", None)
        print(json.dumps(result, ensure_ascii=False))
        print(f"{label}: {options.mails:,} mails in {seconds:.1f}s = {options.mails / seconds:,.0f} mails/s "
              f"(CPU {cpu:.1f}s, peak memory {peak:.0f} MB)")


if __name__ == "__main__":
    main()
