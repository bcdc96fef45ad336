"""Generate a realistic CP932 lead list: `python bench/generate_leads.py ROWS OUT.csv [--seed N]`.

Companies and households with several contact rows each, phones in the shapes offices type them
(hyphens, full-width digits, brackets), some e-mails, postal codes and addresses, a custom column,
and a few per cent of invalid rows (empty names, short phones).
"""

import argparse
import random

FAMILY = "佐藤 鈴木 高橋 田中 伊藤 渡辺 山本 中村 小林 加藤 吉田 山田 佐々木 山口 松本 井上 木村 林 斎藤 清水 山崎 森 池田 橋本 阿部 石川 山下 中島 石井 小川 前田 岡田 長谷川 藤田 後藤 近藤 村上 遠藤 青木 坂本".split()
GIVEN = "太郎 花子 一郎 裕子 翔太 美咲 健一 直子 大輔 由美 拓也 恵子 隆 陽子 誠 真由美 涼平 千代 康弘 桃子".split()
TRADE = "商事 不動産 建設 物産 興業 工務店 企画 開発 産業 ホールディングス".split()
CITIES = [("東京都", "渋谷区", "150-0002"), ("東京都", "新宿区", "160-0022"), ("神奈川県", "横浜市西区", "220-0011"),
          ("東京都", "世田谷区", "154-0004"), ("神奈川県", "川崎市中原区", "211-0004"), ("東京都", "港区", "105-0011")]
FULL = str.maketrans("0123456789-", "０１２３４５６７８９－")


def phone(rng: random.Random) -> str:
    digits = f"0{rng.choice('789')}0{rng.randint(1000, 9999)}{rng.randint(1000, 9999)}" if rng.random() < 0.6 else f"03{rng.randint(1000, 9999)}{rng.randint(1000, 9999)}"
    if len(digits) == 11:
        shaped = f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    else:
        shaped = f"{digits[:2]}-{digits[2:6]}-{digits[6:]}"
    style = rng.random()
    if style < 0.15:
        return shaped.translate(FULL)
    if style < 0.3:
        return digits
    if style < 0.35:
        return f"({shaped[:3]}){shaped[4:]}"
    return shaped


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("rows", type=int)
    parser.add_argument("out")
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    rng = random.Random(options.seed)
    with open(options.out, "w", encoding="cp932", newline="") as handle:
        handle.write("会社名,担当者,フリガナ,電話番号,メールアドレス,郵便番号,都道府県,市区町村,番地,建物名,所有物件数\r\n")
        written = 0
        lead_number = 0
        while written < options.rows:
            lead_number += 1
            family = rng.choice(FAMILY)
            lead = f"{family}家{lead_number}" if rng.random() < 0.5 else f"株式会社{family}{rng.choice(TRADE)}{lead_number}"
            prefecture, city, postal = rng.choice(CITIES)
            for contact in range(rng.choice((1, 1, 1, 2, 3))):
                if written >= options.rows:
                    break
                name = f"{family} {rng.choice(GIVEN)}" if contact == 0 else f"営業部 {rng.choice(FAMILY)}様"
                number = phone(rng)
                if rng.random() < 0.02:
                    number = number[:6]
                email = f"user{lead_number}.{contact}@example.jp" if rng.random() < 0.4 else ""
                row = [lead if rng.random() > 0.005 else "", name, "", number, email, postal, prefecture, city,
                       f"{rng.randint(1, 5)}-{rng.randint(1, 30)}-{rng.randint(1, 20)}", "", str(rng.randint(0, 9))]
                handle.write(",".join(row) + "\r\n")
                written += 1


if __name__ == "__main__":
    main()
