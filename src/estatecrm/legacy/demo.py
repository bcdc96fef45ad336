"""The demo company's finished legacy migration: a small desktop-app bundle made here and migrated into 渋谷店
through the real pipeline."""

import csv
import datetime
import io
import tempfile
import zipfile
from pathlib import Path

from django.utils import timezone

from estatecrm.core.scope import company_scope
from estatecrm.legacy import bundle as files
from estatecrm.legacy.actions import do_start_legacy_migration
from estatecrm.pipeline.engine import execute_run
from estatecrm.pipeline.models import Run
from estatecrm.tenancy.models import Company, OrgUnit, User
from estatecrm.tenancy.selectors import actor_for

DEMO_BUNDLE_FILE = "渋谷店_旧システム書き出し.zip"
# Staff of 渋谷店 in the desktop app, matched to the demo agents by e-mail.
STAFF = [("S01", "佐藤 一郎", "agent01@demo.example.jp"), ("S05", "伊藤 翔太", "agent05@demo.example.jp"),
         ("S09", "小林 大輔", "agent09@demo.example.jp")]
CUSTOMERS = [
    ("K101", "長谷川 美穂", "ハセガワ ミホ", "090-7712-3301", "miho.h@example.jp"), ("K102", "村上 健太", "ムラカミ ケンタ", "080-5521-9034", ""),
    ("K103", "近藤 彩", "コンドウ アヤ", "070-2290-4418", "aya.kondo@example.jp"), ("K104", "石井 浩二", "イシイ コウジ", "03-3461-2278", ""),
    ("K105", "坂本 沙織", "サカモト サオリ", "090-3385-6620", "saori.s@example.jp"), ("K106", "遠藤 隆", "エンドウ タカシ", "080-9012-7765", ""),
    ("K107", "青木 由香", "アオキ ユカ", "090-6634-1187", "yuka.aoki@example.jp"), ("K108", "西村 亮", "ニシムラ リョウ", "070-4471-0392", ""),
]
# (追客番号, 顧客番号, 種別, 追客ステータス, 主担当, months ago it started); T1008 is closed and stays behind.
CASES = [("T1001", "K101", "賃貸", "反響対応中", "S01", 2), ("T1002", "K102", "賃貸", "内見調整中", "S05", 3),
         ("T1003", "K103", "売買", "反響対応中", "S09", 5), ("T1004", "K104", "賃貸", "反響対応中", "S01", 7),
         ("T1005", "K105", "賃貸", "内見調整中", "S05", 1), ("T1006", "K106", "売買", "反響対応中", "S09", 4),
         ("T1007", "K107", "賃貸", "反響対応中", "S01", 6), ("T1008", "K108", "賃貸", "追客終了", "S05", 9)]
ACTIVITIES = [("電話", "初回ヒアリング", "入居時期は来春。渋谷まで30分以内を希望。"), ("メール送信", "物件のご案内", "条件に合う物件を3件ご案内。"),
              ("メール受信", "Re: 物件のご案内", "2件目を内見したいとのこと。"), ("案内", "内見", "日当たりを気に入られた。家族と相談して連絡するとのこと。")]


def csv_member(columns, rows) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(column, "") for column in columns])
    return text.getvalue().encode("cp932")


def demo_bundle(path: Path, today: datetime.date) -> Path:
    """A bundle as the desktop app writes it (FORMAT.md): CP932 CSV members in a ZIP."""
    def day(months: int, days: int = 0) -> str:
        return (today - datetime.timedelta(days=months * 30 - days)).strftime("%Y/%m/%d")

    members = {
        files.INFO_FILE: [{"項目": "出力日時", "値": f"{today:%Y/%m/%d} 09:00:00"}, {"項目": "会社コード", "値": "D0001"}, {"項目": "バージョン", "値": "5"}],
        files.UNITS_FILE: [{"組織コード": "SBY", "組織名": "渋谷店"}],
        files.STAFF_FILE: [{"社員コード": code, "氏名": name, "メールアドレス": email, "組織コード": "SBY", "在籍区分": "在籍"} for code, name, email in STAFF],
        files.STATUSES_FILE: [{"ステータス名": "反響対応中", "区分": "追客中"}, {"ステータス名": "内見調整中", "区分": "追客中"},
                              {"ステータス名": "追客終了", "区分": "追客終了"}],
        files.CUSTOMERS_FILE: [{"顧客番号": number, "氏名": name, "氏名カナ": kana, "携帯番号": phone, "メールアドレス": email}
                               for number, name, kana, phone, email in CUSTOMERS],
        files.CASES_FILE: [{"追客番号": number, "顧客番号": customer, "種別": kind, "追客ステータス": status, "追客開始日": day(months),
                            "主担当": staff, "物件自動紹介メール": "配信しない", "初回反響媒体": "SUUMO"}
                           for number, customer, kind, status, staff, months in CASES],
        files.CONDITIONS_FILE: [],
        files.INTRODUCTIONS_FILE: [],
        files.ACTIVITIES_FILE: [{"追客番号": number, "活動日時": f"{day(months, 7 * (step + 1))} {11 + step * 2}:00:00", "活動種別": kind,
                                 "社員コード": staff, "件名": subject, "内容": body, "状態": "完了"}
                                for number, _customer, _kind, _status, staff, months in CASES
                                for step, (kind, subject, body) in enumerate(ACTIVITIES[: 2 + int(number[-1]) % 3])],
        files.ATTACHMENTS_FILE: [],
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, rows in members.items():
            archive.writestr(name, csv_member(files.COLUMNS[name], rows))
    return path


def do_load_demo_migration(*, company: Company, admin: User) -> Run:
    """Migrate the demo bundle into 渋谷店 as the demo admin, to its end (the closed case is skipped, as the
    rules say). Not atomic as a whole: the pipeline commits batch by batch."""
    with company_scope(company), tempfile.TemporaryDirectory() as folder:
        unit = OrgUnit.objects.for_company(company).get(code="SBY")
        path = demo_bundle(Path(folder) / DEMO_BUNDLE_FILE, timezone.localdate())
        run = do_start_legacy_migration(actor=actor_for(admin), path=path, file_name=DEMO_BUNDLE_FILE, org_unit=unit, background=False)
        execute_run(run.pk)
    run.refresh_from_db()
    return run
