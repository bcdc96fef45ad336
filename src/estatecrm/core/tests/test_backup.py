"""`estatecrm backup` and `estatecrm restore`: every table and file comes back, bad archives and full targets are refused."""

import hashlib
import io
import json
import os
import secrets
import sqlite3
import subprocess
import sys
import tarfile
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone

from estatecrm.core import backup
from estatecrm.core.backup import BackupError, create_backup, libpq_parameters, restore_backup, verify_archive
from estatecrm.core.scope import company_scope
from estatecrm.core.testing import make_case, make_company, make_unit, make_user
from estatecrm.crm.actions import do_add_attachment, do_log_activity, do_upsert_project
from estatecrm.crm.choices import ActivityKind
from estatecrm.crm.models import Attachment
from estatecrm.leads import actions as lead_actions
from estatecrm.legacy.selectors import upload_folder
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.engine import execute_run
from estatecrm.pipeline.models import LedgerEntry
from estatecrm.tenancy.choices import Role
from estatecrm.tenancy.selectors import actor_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


@pytest.fixture
def seeded(company, org, company_admin, agent, media_root, client):
    """A company with cases, customers, contacts, contact points, activities, attachments, a lead
    import run with its source file and ledger, a legacy upload's files and a logged-in session."""
    first = make_case(company, org["SBY"], main_assignee=agent, customer_name="佐藤 花子")
    second = make_case(company, org["SJK"], main_assignee=company_admin, customer_name="鈴木 一郎",
                       phones=(("mobile", "080-2222-3333"), ("home", "03-1111-2222")), emails=("ichiro@example.jp",))
    actor = actor_for(company_admin)
    with company_scope(company):
        do_log_activity(actor=actor, case=first, kind=ActivityKind.CALL, subject="初回連絡", body="折り返し希望")
        do_log_activity(actor=actor, case=second, kind=ActivityKind.NOTE, body="内見希望")
        do_add_attachment(case=first, upload=SimpleUploadedFile("間取り図.pdf", b"%PDF-1.4 plan\x00\xff", content_type="application/pdf"),
                          acting_user=company_admin)
        do_add_attachment(case=second, upload=SimpleUploadedFile("contract.txt", b"contract text", content_type="text/plain"),
                          acting_user=company_admin)
        project, _created = do_upsert_project(company=company, name="春の反響リスト")
        source = media_root.parent / "leads.csv"
        source.write_bytes("会社名,担当者,電話番号\r\n株式会社ABC,田中様,03-1234-5678\r\n山田家,山田 花子,090-5555-6666\r\n株式会社ABC,総務,03-1234-9999\r\n".encode("cp932"))
        run = lead_actions.do_start_lead_import(actor=actor, path=source, file_name=source.name, project=project, background=False)
        execute_run(run.pk)
    folder = upload_folder(company.pk, secrets.token_hex(16))
    default_storage.save(f"{folder}/bundle.zip", ContentFile(b"PK\x05\x06" + bytes(18)))
    default_storage.save(f"{folder}/upload.json", ContentFile('{"file_name": "旧システム.zip"}'.encode()))
    client.force_login(company_admin)
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    # the ledger has the contact added to ABC (a created lead has none: its case carries the run)
    assert LedgerEntry.objects.for_company(company).filter(run=run).count() == 1
    return {"run": run, "cases": [first, second]}


def database_contents(vendor: str, settings_dict: dict) -> dict:
    """Every table's column names and rows (sorted), read with a plain connection of its own; on
    PostgreSQL also every sequence's last value."""
    if vendor == "sqlite":
        reader = sqlite3.connect(settings_dict["NAME"])
        tables = [name for (name,) in reader.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    else:
        import psycopg

        reader = psycopg.connect(**libpq_parameters(settings_dict))
        tables = [name for (name,) in reader.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1")]
    try:
        contents = {}
        for table in tables:
            cursor = reader.execute(f'SELECT * FROM "{table}"')
            contents[table] = ([column[0] for column in cursor.description], sorted(cursor.fetchall(), key=repr))
        if vendor == "postgresql":
            contents["pg_sequences"] = reader.execute(
                "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1").fetchall()
        return contents
    finally:
        reader.close()


def media_contents(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


@pytest.fixture
def empty_database(tmp_path):
    """A new, empty database of the test's vendor: (DATABASE_URL, settings dict to read it). PostgreSQL:
    created on the test server and dropped at the end."""
    if connection.vendor == "sqlite":
        path = tmp_path / "restored.sqlite3"
        yield f"sqlite:///{path}", {"NAME": str(path)}
        return
    import psycopg

    name = f"test_restore_{os.getpid()}_{secrets.token_hex(4)}"
    server = {**libpq_parameters(connection.settings_dict), "dbname": "postgres"}
    with psycopg.connect(**server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    settings_dict = {**connection.settings_dict, "NAME": name}
    parameters = libpq_parameters(settings_dict)
    url = f"postgres://{parameters['user']}@{parameters.get('host', '127.0.0.1')}:{parameters.get('port', '5432')}/{name}"
    try:
        yield url, settings_dict
    finally:
        with psycopg.connect(**server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_restore(archive: Path, database_url: str, media: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """`estatecrm restore IN --json` as an operator runs it: production settings from the environment."""
    environment = dict(os.environ, DATABASE_URL=database_url, MEDIA_ROOT=str(media), ESTATECRM_VAR_DIR=str(tmp_path / "var"),
                       DJANGO_SETTINGS_MODULE="estatecrm.config.settings.base", SECRET_KEY="restore-test-secret-key",
                       LANGUAGE_CODE="en")
    return subprocess.run([sys.executable, "-m", "estatecrm", "restore", str(archive), "--json"], env=environment,
                          capture_output=True, text=True, timeout=300)


def test_a_backup_restored_into_an_empty_database_and_folder_equals_the_original_in_every_table_and_file(
        seeded, media_root, empty_database, tmp_path):
    # given
    archive = tmp_path / "backup.tar.gz"
    output = io.StringIO()
    call_command("backup", str(archive), "--json", stdout=output)
    summary = json.loads(output.getvalue())
    original_tables = database_contents(connection.vendor, connection.settings_dict)
    original_files = media_contents(media_root)
    url, restored_settings = empty_database
    restored_media = tmp_path / "restored-media"
    # when
    done = run_restore(archive, url, restored_media, tmp_path)
    # then
    assert done.returncode == 0, done.stderr
    restored = json.loads(done.stdout)
    assert (summary["vendor"], summary["file_count"], summary["missing_files"], summary["skipped_entries"]) == (
        connection.vendor, 5, [], [])
    assert (restored["vendor"], restored["file_count"], restored["file_bytes"], restored["migrations_applied"]) == (
        connection.vendor, 5, summary["file_bytes"], [])
    assert len(original_files) == 5
    assert media_contents(restored_media) == original_files
    restored_tables = database_contents(connection.vendor, restored_settings)
    assert sorted(restored_tables) == sorted(original_tables)
    for table, contents in original_tables.items():
        assert restored_tables[table] == contents, table
    for table in ("crm_case", "crm_customer", "crm_contactpoint", "crm_activity", "crm_attachment", "pipeline_run",
                  "pipeline_ledgerentry", "django_session", "django_migrations"):
        assert len(original_tables[table][1]) > 0, table


def test_the_manifest_lists_the_database_every_file_with_its_checksum_and_the_migrations(seeded, media_root, tmp_path):
    # given
    archive = tmp_path / "backup.tar.gz"
    # when
    create_backup(archive)
    # then
    with tarfile.open(archive) as opened:
        names = opened.getnames()
        manifest = json.load(opened.extractfile("manifest.json"))
    database_member = backup.DATABASE_MEMBERS[connection.vendor]
    assert archive.stat().st_mode & 0o777 == 0o600
    assert names == [database_member, *(f"media/{name}" for name in sorted(media_contents(media_root))), "manifest.json"]
    assert (manifest["format"], manifest["format_version"], manifest["database"]["vendor"], manifest["database"]["path"]) == (
        "estatecrm-backup", 1, connection.vendor, database_member)
    assert {entry["path"]: (entry["size"], entry["sha256"]) for entry in manifest["files"]} == {
        name: (len(data), hashlib.sha256(data).hexdigest()) for name, data in media_contents(media_root).items()}
    with connection.cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations")
        applied = cursor.fetchall()
    assert sorted((app, name) for app, names in manifest["migrations"].items() for name in names) == sorted(applied)


def test_a_file_that_database_rows_name_but_media_root_lacks_is_listed_as_missing(seeded, media_root, tmp_path):
    # given: an attachment's file deleted behind the database's back
    attachment = Attachment.objects.unscoped().order_by("pk").first()
    (media_root / attachment.file.name).unlink()
    # when
    summary = create_backup(tmp_path / "backup.tar.gz")
    # then
    assert (summary.file_count, summary.missing_files) == (4, [attachment.file.name])


def test_an_existing_out_is_refused_unless_forced(seeded, media_root, tmp_path):
    # given
    out = tmp_path / "backup.tar.gz"
    out.write_bytes(b"an older backup")
    # when
    with pytest.raises(BackupError) as refused:
        create_backup(out)
    # then
    assert refused.value.code == backup.OUT_EXISTS
    assert out.read_bytes() == b"an older backup"
    # when forced
    create_backup(out, force=True)
    # then
    assert verify_archive(out).manifest["database"]["vendor"] == connection.vendor


def test_a_backup_that_fails_half_way_leaves_no_out_and_no_temporary_file(seeded, media_root, tmp_path, monkeypatch):
    # given
    folder = tmp_path / "backups"
    folder.mkdir()

    def fail(archive, root):
        raise OSError("disk full")

    monkeypatch.setattr(backup, "_add_media", fail)
    # when
    with pytest.raises(BackupError) as failed:
        create_backup(folder / "backup.tar.gz")
    # then
    assert (failed.value.code, failed.value.message) == (
        backup.WRITE_FAILED, f"The backup failed: disk full. {folder / 'backup.tar.gz'} was not written.")
    assert list(folder.iterdir()) == []


def test_an_out_inside_media_root_is_refused(seeded, media_root):
    # when
    with pytest.raises(BackupError) as refused:
        create_backup(media_root / "backup.tar.gz")
    # then
    assert refused.value.code == backup.OUT_INVALID
    assert not (media_root / "backup.tar.gz").exists()


def test_a_restore_into_a_database_with_rows_is_refused_and_changes_nothing(seeded, media_root, tmp_path, settings):
    # given: the running installation itself as the target, with an empty media folder
    archive = tmp_path / "backup.tar.gz"
    create_backup(archive)
    settings.MEDIA_ROOT = tmp_path / "empty-media"
    before = database_contents(connection.vendor, connection.settings_dict)
    # when
    with pytest.raises(BackupError) as refused:
        restore_backup(archive)
    # then
    assert refused.value.code == backup.TARGET_NOT_EMPTY
    assert "Nothing was changed." in refused.value.message
    assert "crm_case" in refused.value.message or "audit_auditevent" in refused.value.message
    assert database_contents(connection.vendor, connection.settings_dict) == before
    assert media_contents(tmp_path / "empty-media") == {}


def test_a_restore_into_a_media_folder_with_files_is_refused_and_writes_nothing(seeded, media_root, empty_database, tmp_path):
    # given
    archive = tmp_path / "backup.tar.gz"
    create_backup(archive)
    url, restored_settings = empty_database
    restored_media = tmp_path / "restored-media"
    (restored_media / "other").mkdir(parents=True)
    (restored_media / "other" / "keep.txt").write_bytes(b"someone else's file")
    # when
    done = run_restore(archive, url, restored_media, tmp_path)
    # then
    assert done.returncode == 1
    assert "is not empty (it holds other/keep.txt)" in done.stderr
    assert media_contents(restored_media) == {"other/keep.txt": b"someone else's file"}
    assert database_contents(connection.vendor, restored_settings) == ({} if connection.vendor == "sqlite" else {"pg_sequences": []})


def rewrite_archive(source: Path, target: Path, *, replace: dict | None = None, extra: list | None = None, manifest=None) -> None:
    """A copy of an archive with members' bytes replaced, members added (TarInfo, bytes) and the manifest changed."""
    with tarfile.open(source) as original:
        members = [(member, original.extractfile(member).read()) for member in original.getmembers()]
    with tarfile.open(target, "w:gz") as copy:
        for member, data in members:
            if member.name == "manifest.json" and manifest is not None:
                data = json.dumps(manifest(json.loads(data))).encode()
            data = (replace or {}).get(member.name, data)
            member.size = len(data)
            copy.addfile(member, io.BytesIO(data))
        for member, data in extra or []:
            copy.addfile(member, io.BytesIO(data) if data is not None else None)


def test_a_tampered_archive_is_refused_before_anything_is_written(seeded, media_root, empty_database, tmp_path):
    # given: one attachment's bytes changed in the archive, its manifest entry left as it was
    archive = tmp_path / "backup.tar.gz"
    create_backup(archive)
    attachment = Attachment.objects.unscoped().get(original_name="contract.txt")
    tampered = tmp_path / "tampered.tar.gz"
    rewrite_archive(archive, tampered, replace={f"media/{attachment.file.name}": b"contract TEXT"})
    url, restored_settings = empty_database
    restored_media = tmp_path / "restored-media"
    # when
    with pytest.raises(BackupError) as refused:
        verify_archive(tampered)
    done = run_restore(tampered, url, restored_media, tmp_path)
    # then
    assert refused.value.code == backup.ARCHIVE_INVALID
    assert refused.value.message == (f"The archive member media/{attachment.file.name} does not match its checksum: "
                                     "the archive is damaged or was changed.")
    assert done.returncode == 1
    assert "does not match its checksum" in done.stderr
    assert not restored_media.exists()
    assert database_contents(connection.vendor, restored_settings) == ({} if connection.vendor == "sqlite" else {"pg_sequences": []})


def unsafe_member(name: str, kind=tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type, member.linkname, member.size = kind, link, 0 if kind != tarfile.REGTYPE else 4
    return member


@pytest.mark.parametrize(("member", "message"), [
    (unsafe_member("../evil.txt"), "The archive has an unsafe member name: '../evil.txt'."),
    (unsafe_member("media/../../evil.txt"), "The archive has an unsafe member name: 'media/../../evil.txt'."),
    (unsafe_member("/tmp/evil.txt"), "The archive has an unsafe member name: '/tmp/evil.txt'."),
    (unsafe_member("media//evil.txt"), "The archive has an unsafe member name: 'media//evil.txt'."),
    (unsafe_member("media/evil-link", tarfile.SYMTYPE, "../../evil.txt"), "The archive member media/evil-link is not a regular file."),
    (unsafe_member("media/evil-hard", tarfile.LNKTYPE, "manifest.json"), "The archive member media/evil-hard is not a regular file."),
])
def test_an_archive_with_an_unsafe_member_is_refused_and_nothing_is_written(seeded, media_root, tmp_path, settings, member, message):
    # given
    archive = tmp_path / "backup.tar.gz"
    create_backup(archive)
    hostile = tmp_path / "work" / "hostile.tar.gz"
    hostile.parent.mkdir()
    rewrite_archive(archive, hostile, extra=[(member, b"evil" if member.isreg() else None)])
    settings.MEDIA_ROOT = tmp_path / "work" / "media" / "restored"
    before = database_contents(connection.vendor, connection.settings_dict)
    # when
    with pytest.raises(BackupError) as refused:
        restore_backup(hostile)
    # then
    assert (refused.value.code, refused.value.message) == (backup.ARCHIVE_INVALID, message)
    assert sorted(path.name for path in (tmp_path / "work").rglob("*")) == ["hostile.tar.gz"]
    assert not (tmp_path / "evil.txt").exists()
    assert database_contents(connection.vendor, connection.settings_dict) == before


def test_a_member_that_the_manifest_does_not_list_is_refused(seeded, media_root, tmp_path):
    # given
    archive = tmp_path / "backup.tar.gz"
    create_backup(archive)
    extended = tmp_path / "extended.tar.gz"
    rewrite_archive(archive, extended, extra=[(unsafe_member("media/extra.txt"), b"more")])
    # when
    with pytest.raises(BackupError) as refused:
        verify_archive(extended)
    # then
    assert refused.value.message == "The archive member media/extra.txt is not in its manifest."


def test_a_backup_of_the_other_database_vendor_is_refused_with_both_names(seeded, media_root, tmp_path, settings):
    # given: the archive relabelled as the other vendor's (its member renamed to match)
    archive = tmp_path / "backup.tar.gz"
    create_backup(archive)
    other = "postgresql" if connection.vendor == "sqlite" else "sqlite"
    mine = backup.DATABASE_MEMBERS[connection.vendor]
    with tarfile.open(archive) as original:
        members = [(member, original.extractfile(member).read()) for member in original.getmembers()]
    relabelled = tmp_path / "other.tar.gz"
    with tarfile.open(relabelled, "w:gz") as copy:
        for member, data in members:
            if member.name == mine:
                member.name = backup.DATABASE_MEMBERS[other]
            if member.name == "manifest.json":
                manifest = json.loads(data)
                manifest["database"].update(vendor=other, path=backup.DATABASE_MEMBERS[other])
                data = json.dumps(manifest).encode()
                member.size = len(data)
            copy.addfile(member, io.BytesIO(data))
    settings.MEDIA_ROOT = tmp_path / "empty-media"
    # when
    with pytest.raises(BackupError) as refused:
        restore_backup(relabelled)
    # then
    names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
    assert refused.value.code == backup.VENDOR_MISMATCH
    assert refused.value.message.startswith(
        f"This backup holds a {names[other]} database, but the target database is {names[connection.vendor]}.")
    assert not (tmp_path / "empty-media").exists()


def test_a_backup_made_by_newer_code_is_refused(seeded, media_root, tmp_path, settings):
    # given
    archive = tmp_path / "backup.tar.gz"
    create_backup(archive)
    newer = tmp_path / "newer.tar.gz"
    rewrite_archive(archive, newer, manifest=lambda manifest: {
        **manifest, "migrations": {**manifest["migrations"], "crm": [*manifest["migrations"]["crm"], "9999_from_the_future"]}})
    settings.MEDIA_ROOT = tmp_path / "empty-media"
    # when
    with pytest.raises(BackupError) as refused:
        restore_backup(newer)
    # then
    assert refused.value.code == backup.MIGRATIONS_UNKNOWN
    assert "crm.9999_from_the_future" in refused.value.message


def test_a_backup_taken_while_a_writer_commits_is_one_consistent_snapshot(company, media_root, empty_database, tmp_path):
    # given: a thread that commits two session rows per transaction, without pause, during the backup
    from django.contrib.sessions.models import Session
    from django.db import connections

    stop = threading.Event()
    started = threading.Event()
    committed = []

    def write():
        try:
            number = 0
            while not stop.is_set():
                with transaction.atomic():
                    expires = timezone.now() + timedelta(days=1)
                    Session.objects.bulk_create([Session(session_key=f"a{number:08d}", session_data="x", expire_date=expires),
                                                 Session(session_key=f"b{number:08d}", session_data="x", expire_date=expires)])
                number += 1
                committed.append(number)
                if number == 20:
                    started.set()
        finally:
            connections.close_all()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert started.wait(30)
        before = len(committed)
        archive = tmp_path / "backup.tar.gz"
        # when
        create_backup(archive)
        after = len(committed)
    finally:
        stop.set()
        writer.join(30)
    url, restored_settings = empty_database
    done = run_restore(archive, url, tmp_path / "restored-media", tmp_path)
    # then
    assert done.returncode == 0, done.stderr
    sessions = database_contents(connection.vendor, restored_settings)["django_session"][1]
    pairs = {key[1:] for (key, _data, _expires) in sessions if key[0] in "ab"}
    a_rows = sorted(key for (key, _data, _expires) in sessions if key[0] == "a")
    b_rows = sorted(key for (key, _data, _expires) in sessions if key[0] == "b")
    assert [key[1:] for key in a_rows] == [key[1:] for key in b_rows] == sorted(pairs)
    assert 20 <= before <= len(pairs) <= after + 1
    assert before < after  # the writer kept committing while the backup ran
    assert sorted(pairs) == [f"{number:08d}" for number in range(len(pairs))]
    if connection.vendor == "sqlite":
        with sqlite3.connect(restored_settings["NAME"]) as restored:
            assert restored.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_a_backup_of_an_older_version_gets_this_versions_migrations_after_the_restore(company, media_root, empty_database, tmp_path):
    # given: a backup of a database that lacks the sessions app's migrations (as an older version would)
    archive = tmp_path / "backup.tar.gz"
    call_command("migrate", "sessions", "zero", verbosity=0)
    try:
        create_backup(archive)
    finally:
        call_command("migrate", "sessions", verbosity=0)
    url, restored_settings = empty_database
    # when
    done = run_restore(archive, url, tmp_path / "restored-media", tmp_path)
    # then
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["migrations_applied"] == ["sessions.0001_initial"]
    restored = database_contents(connection.vendor, restored_settings)
    assert restored["django_session"] == (["session_key", "session_data", "expire_date"], [])
    assert [row[1:3] for row in restored["django_migrations"][1] if row[1] == "sessions"] == [("sessions", "0001_initial")]


def copy_of_the_empty_test_database(restored_settings) -> None:
    """Make the target a copy of the migrated test database while it holds no rows: what an operator
    gets from `estatecrm migrate` on a new database (cheaper than running it)."""
    if connection.vendor == "sqlite":
        with sqlite3.connect(connection.settings_dict["NAME"]) as source, sqlite3.connect(restored_settings["NAME"]) as target:
            source.backup(target)
        return
    import psycopg

    connection.close()
    server = {**libpq_parameters(connection.settings_dict), "dbname": "postgres"}
    with psycopg.connect(**server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{restored_settings["NAME"]}"')
        admin.execute(f'CREATE DATABASE "{restored_settings["NAME"]}" TEMPLATE "{connection.settings_dict["NAME"]}"')


def test_a_restore_into_a_migrated_but_empty_database_replaces_its_empty_tables(media_root, empty_database, tmp_path):
    # given: the target migrated and empty, the source with a case and an attachment
    url, restored_settings = empty_database
    copy_of_the_empty_test_database(restored_settings)
    migrated = database_contents(connection.vendor, restored_settings)
    assert "crm_case" in migrated
    assert [table for table, contents in migrated.items()
            if table not in backup.MIGRATE_FILLED_TABLES | {"pg_sequences", "sqlite_sequence"} and contents[1]] == []
    company = make_company("acme")
    unit = make_unit(company, "HQ")
    admin = make_user(company, unit, role=Role.ADMIN)
    case = make_case(company, unit, main_assignee=admin)
    with company_scope(company):
        do_add_attachment(case=case, upload=SimpleUploadedFile("見積書.txt", b"estimate"), acting_user=admin)
    archive = tmp_path / "backup.tar.gz"
    create_backup(archive)
    # when
    done = run_restore(archive, url, tmp_path / "restored-media", tmp_path)
    # then
    assert done.returncode == 0, done.stderr
    assert database_contents(connection.vendor, restored_settings) == database_contents(connection.vendor, connection.settings_dict)
    assert media_contents(tmp_path / "restored-media") == media_contents(media_root)


def test_a_database_that_fails_to_restore_leaves_the_target_as_it_was_and_removes_the_restored_files(
        company, org, company_admin, media_root, empty_database, tmp_path):
    # given: an archive whose database member is not a database, with a manifest that matches it
    case = make_case(company, org["HQ"], main_assignee=company_admin)
    with company_scope(company):
        do_add_attachment(case=case, upload=SimpleUploadedFile("見積書.txt", b"estimate"), acting_user=company_admin)
    archive = tmp_path / "backup.tar.gz"
    create_backup(archive)
    garbage = b"not a database " * 100
    member = backup.DATABASE_MEMBERS[connection.vendor]
    broken = tmp_path / "broken.tar.gz"
    rewrite_archive(archive, broken, replace={member: garbage}, manifest=lambda manifest: {
        **manifest, "database": {**manifest["database"], "size": len(garbage), "sha256": hashlib.sha256(garbage).hexdigest()}})
    url, restored_settings = empty_database
    if connection.vendor == "sqlite":
        with sqlite3.connect(restored_settings["NAME"]) as target:
            target.execute("CREATE TABLE kept (id integer)")
    else:
        import psycopg

        with psycopg.connect(**libpq_parameters(restored_settings)) as target:
            target.execute("CREATE TABLE kept (id integer)")
    restored_media = tmp_path / "restored-media"
    # when
    done = run_restore(broken, url, restored_media, tmp_path)
    # then
    assert done.returncode == 1
    assert "Restoring the database failed: " in done.stderr
    assert "The restored files were removed; the database was not changed." in done.stderr
    assert media_contents(restored_media) == {}
    assert database_contents(connection.vendor, restored_settings) == (
        {"kept": (["id"], [])} if connection.vendor == "sqlite" else {"kept": (["id"], []), "pg_sequences": []})


def test_symbolic_links_and_names_a_restore_would_refuse_are_skipped_and_listed(company, media_root, tmp_path):
    # given: a link to a file outside MEDIA_ROOT, a linked folder and a name with a backslash
    secret = tmp_path / "outside.txt"
    secret.write_bytes(b"not for the archive")
    (media_root / "attachments").mkdir()
    (media_root / "attachments" / "plan.pdf").write_bytes(b"plan")
    (media_root / "attachments" / "link.txt").symlink_to(secret)
    (media_root / "linked-folder").symlink_to(tmp_path)
    (media_root / "attachments" / "a\\b.txt").write_bytes(b"backslash")
    archive = tmp_path / "backup.tar.gz"
    # when
    summary = create_backup(archive)
    # then
    assert (summary.file_count, sorted(summary.skipped_entries)) == (
        1, ["attachments/a\\b.txt", "attachments/link.txt", "linked-folder"])
    with tarfile.open(archive) as opened:
        assert opened.getnames() == [backup.DATABASE_MEMBERS[connection.vendor], "media/attachments/plan.pdf", "manifest.json"]
    assert [entry["path"] for entry in verify_archive(archive).manifest["files"]] == ["attachments/plan.pdf"]


def test_an_archive_larger_than_the_free_disk_space_is_refused_before_anything_is_written(company, media_root, tmp_path, settings, monkeypatch):
    # given
    (media_root / "plan.pdf").write_bytes(b"plan" * 1000)
    archive = tmp_path / "backup.tar.gz"
    create_backup(archive)
    content = verify_archive(archive).total_bytes
    settings.MEDIA_ROOT = tmp_path / "restored-media"
    before = database_contents(connection.vendor, connection.settings_dict)
    # when: one byte less free space than the archive's content
    monkeypatch.setattr(backup, "_free_bytes", lambda path: content - 1)
    with pytest.raises(BackupError) as too_large:
        restore_backup(archive)
    # when: enough for the content, not for the margin
    monkeypatch.setattr(backup, "_free_bytes", lambda path: content + 1)
    with pytest.raises(BackupError) as no_margin:
        restore_backup(archive)
    # then
    assert (too_large.value.code, too_large.value.message) == (
        backup.ARCHIVE_TOO_LARGE, f"The archive holds more than {(content - 1) // 2**20} MB, more than the free disk space.")
    assert no_margin.value.code == backup.ARCHIVE_TOO_LARGE
    assert no_margin.value.message.startswith(f"The archive needs {-(-(content + backup.FREE_SPACE_MARGIN) // 2**20)} MB of free disk space")
    assert not (tmp_path / "restored-media").exists()
    assert database_contents(connection.vendor, connection.settings_dict) == before


def test_the_commands_print_a_summary_and_refuse_with_the_message(company, media_root, tmp_path):
    # given
    (media_root / "plan.pdf").write_bytes(b"plan")
    out = tmp_path / "backup.tar.gz"
    printed = io.StringIO()
    # when
    call_command("backup", str(out), stdout=printed)
    with pytest.raises(CommandError) as refused:
        call_command("backup", str(out))
    with pytest.raises(CommandError) as restore_refused:
        call_command("restore", str(tmp_path / "absent.tar.gz"))
    # then
    summary = verify_archive(out).manifest
    assert printed.getvalue() == (
        f"Backup written to {out} ({out.stat().st_size} bytes): {connection.vendor} database of {summary['database']['size']} bytes, "
        "files: 1 (4 bytes).\n")
    assert str(refused.value) == f"{out} exists already; pass --force to replace it."
    assert str(restore_refused.value) == f"The archive {tmp_path / 'absent.tar.gz'} does not exist."


@pytest.mark.parametrize("damage", ["truncated", "not_an_archive", "no_manifest"])
def test_a_truncated_or_foreign_archive_is_refused(company, media_root, tmp_path, damage):
    # given
    (media_root / "plan.pdf").write_bytes(os.urandom(4096))
    archive = tmp_path / "backup.tar.gz"
    create_backup(archive)
    damaged = tmp_path / "damaged.tar.gz"
    if damage == "truncated":
        damaged.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    elif damage == "not_an_archive":
        damaged.write_bytes(b"PK\x03\x04 a zip file, say")
    else:
        with tarfile.open(archive) as original, tarfile.open(damaged, "w:gz") as copy:
            for member in original.getmembers():
                if member.name != "manifest.json":
                    copy.addfile(member, original.extractfile(member))
    # when
    with pytest.raises(BackupError) as refused:
        verify_archive(damaged)
    # then
    assert refused.value.code == backup.ARCHIVE_INVALID
    expected = {"truncated": "The archive cannot be read: ", "not_an_archive": "The archive cannot be read: ",
                "no_manifest": "The archive has no manifest.json; it is not an estatecrm backup."}[damage]
    assert refused.value.message.startswith(expected)
