"""The demo company's finished lead import: a small list made here and run through the real pipeline."""

import tempfile
from pathlib import Path

from estatecrm.core.scope import company_scope
from estatecrm.crm.models import Project
from estatecrm.leads.actions import do_start_lead_import
from estatecrm.pipeline.engine import execute_run
from estatecrm.pipeline.models import Run
from estatecrm.tenancy.models import Company, User
from estatecrm.tenancy.selectors import actor_for

DEMO_LEAD_FILE = "春の反響リスト_オーナー.csv"
HEADER = ("会社名", "担当者", "電話番号", "メール", "所有物件数")
# Owners of rental flats: companies with a contact person, households, one row whose phone was never known.
ROWS = [
    ("株式会社みどり管財", "総務部 木村様", "03-5412-7781", "kimura@midori-kanzai.example.jp", "12"),
    ("株式会社みどり管財", "経理部 清水様", "03-5412-7782", "", ""),
    ("有限会社さくら興産", "代表 岡田様", "045-312-4408", "okada@sakura-kosan.example.jp", "4"),
    ("山本家", "山本 康弘", "090-4821-3370", "yamamoto.y@example.jp", "2"),
    ("井上家", "井上 恵子", "080-2291-6654", "", "1"),
    ("合同会社ハーバーレジデンス", "石川様", "044-711-2093", "info@harbor-res.example.jp", "7"),
    ("藤田家", "藤田 誠", "070-3348-1127", "makoto.fujita@example.jp", "3"),
    ("株式会社東都ビルディング", "賃貸管理課 前田様", "03-6280-4415", "maeda@toto-bld.example.jp", "25"),
    ("後藤家", "後藤 直子", "不明", "", "1"),
    ("森家", "森 拓也", "090-6612-0835", "mori.takuya@example.jp", "2"),
]


def do_load_demo_lead_import(*, company: Company, admin: User) -> Run:
    """Import the demo owner list into the project 春の反響リスト as the demo admin, to its end (one row fails on
    its phone, as real lists do). Not atomic as a whole: the pipeline commits batch by batch."""
    with company_scope(company), tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / DEMO_LEAD_FILE
        lines = [",".join(HEADER)] + [",".join(row) for row in ROWS]
        path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp932"))
        project = Project.objects.for_company(company).get(name="春の反響リスト")
        run = do_start_lead_import(actor=actor_for(admin), path=path, file_name=DEMO_LEAD_FILE, project=project, background=False)
        execute_run(run.pk)
    run.refresh_from_db()
    return run
