"""IMAP fetch benchmark (issue 11: `estatecrm inquiries fetch`).

    .venv/bin/python bench/imap_fetch.py [--mails 2000] [--workdir DIR]

Starts the tests' dovecot (inquiries/tests/dovecot.py: a real IMAP server on 127.0.0.1), delivers
`--mails` SUUMO inquiry mails (ISO-2022-JP, each a different customer) by IMAP APPEND, creates a
company with a SUUMO source reading that mailbox, then measures one `inquiries fetch` in its own
process (mails/s, peak memory) and a second fetch (nothing new: how long an idle turn of the worker
takes). Database: DATABASE_URL (default: a fresh SQLite file in the work directory).
"""

import argparse
import json
import subprocess
import sys
import time
from email.message import EmailMessage

from benchlib import ESTATECRM, PYTHON, ROOT, environment, measured, run

sys.path.insert(0, str(ROOT / "src"))


def suumo_mail(number: int) -> bytes:
    message = EmailMessage()
    message["From"] = "SUUMO <info@jds.suumo.jp>"
    message["Subject"] = "[リクルートJDS]反響お知らせメール"
    message["Message-ID"] = f"<bench-{number}@jds.suumo.jp>"
    message["Date"] = "Sun, 06 Dec 2026 10:15:00 +0900"
    message.set_content(f"""\
■問合せ物件
物件名：ベンチハイツ {number % 500} 号棟
SUUMO物件コード：1000{number % 500:08d}
賃料：8.5万円
間取り：1LDK
■お客様プロフィール
名前(漢字)：顧客 {number}
名前(カナ)：コキャク
メールアドレス：bench{number}@example.jp
TEL：090-{1000 + number // 10000:04d}-{number % 10000:04d}
お問合せ内容：
内見できますか。
""", charset="iso-2022-jp")
    return message.as_bytes()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mails", type=int, default=2000)
    parser.add_argument("--workdir")
    options = parser.parse_args()
    _workdir, env = environment(options.workdir)
    from estatecrm.inquiries.tests.dovecot import start_dovecot

    server = start_dovecot()
    try:
        account = server.add_account()
        started = time.perf_counter()
        for first in range(0, options.mails, 500):
            server.append_many(account, [suumo_mail(number) for number in range(first, min(first + 500, options.mails))])
        print(f"delivered {options.mails:,} mails by IMAP APPEND in {time.perf_counter() - started:.1f}s")

        if env["DATABASE_URL"].startswith("postgres"):
            run(ESTATECRM + ["flush", "--noinput"], env, stdout=subprocess.DEVNULL)
        run(ESTATECRM + ["migrate", "-v0"], env)
        setup = (
            "import django; django.setup()\n"
            "from estatecrm.core import testing\n"
            "from estatecrm.inquiries.models import InquirySource\n"
            "c = testing.make_company('bench', 'ベンチ不動産'); u = testing.make_unit(c, 'HQ')\n"
            "a = testing.make_user(c, u, email='agent@bench.example.jp')\n"
            "InquirySource.objects.create(company=c, code='suumo', name='SUUMO', preset='suumo', org_unit=u, default_assignee=a,\n"
            "    from_contains='jds.suumo.jp', imap_host='127.0.0.1', imap_security='none',\n"
            f"    imap_port={server.port}, imap_user={account.user!r}, imap_password={account.password!r})\n"
        )
        run([PYTHON, "-c", setup], env)
        command = ESTATECRM + ["inquiries", "fetch", "--company", "bench", "--json"]
        seconds, peak, _cpu, output = measured(command, env)
        print(output.strip())
        created = json.loads(output)["created"]
        print(f"fetch: {created:,} mails taken in {seconds:.1f}s = {created / seconds:,.0f} mails/s end to end, peak memory {peak:.0f} MB")
        seconds, peak, _cpu, output = measured(command, env)
        print(f"second fetch (nothing new): {seconds:.2f}s, {output.strip()}")
        flags = server.flags(account)
        print(f"seen afterwards: {sum(1 for value in flags.values() if chr(92) + 'Seen' in value):,} of {len(flags):,}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
