"""Backup and restore of a whole installation: the database and every file under MEDIA_ROOT in one archive.

The archive is a gzip-compressed tar file:

    database/estatecrm.sqlite3   a consistent copy made with SQLite's online backup API, or
    database/estatecrm.pgdump    `pg_dump --format=custom` of one snapshot (pg_restore reads it)
    media/<path>                 every regular file under MEDIA_ROOT, by its path relative to it
    manifest.json                last: format and version, created_at, database vendor, the Django
                                 migrations applied per app, every member's size and SHA-256, and
                                 the stored files that database rows name but MEDIA_ROOT lacked

The database is copied first, then the files: a file written after the copy is extra (harmless), and
a file deleted after it (a purge, a revert) shows in `missing_files`. Web and workers may keep
writing meanwhile: SQLite's backup reads one WAL snapshot, pg_dump one exported snapshot.

A restore goes into an EMPTY database and an empty MEDIA_ROOT only. It reads the whole archive
once to check it (member names and types, sizes, checksums, the vendor, the migrations) before it
changes anything, then writes the files, then the database in one transaction, then applies the
migrations this code has and the archive lacks. A failure removes the files it wrote and says what
state the database is in.
"""

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from django.apps import apps
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, models
from django.utils.translation import gettext as _

from estatecrm.core.errors import ApplicationError

FORMAT = "estatecrm-backup"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
DATABASE_MEMBERS = {"sqlite": "database/estatecrm.sqlite3", "postgresql": "database/estatecrm.pgdump"}
MEDIA_PREFIX = "media/"
# The manifest is read into memory: about 200 bytes per file, so this allows over a million files.
MANIFEST_MAX_BYTES = 256 * 1024 * 1024
# tarfile keeps every member's header in memory while it reads an archive.
MAX_MEMBERS = 2_000_000
# A restore needs this much disk space beyond what it writes.
FREE_SPACE_MARGIN = 64 * 1024 * 1024
CHUNK = 1024 * 1024
# Tables that `migrate` fills by itself: rows there do not make a database "not empty".
MIGRATE_FILLED_TABLES = {"django_migrations", "django_content_type", "auth_permission"}

# Stable error codes (ApplicationError.code) of backup and restore.
OUT_EXISTS = "backup_out_exists"
OUT_INVALID = "backup_out_invalid"
VENDOR_UNSUPPORTED = "backup_vendor_unsupported"
DATABASE_UNAVAILABLE = "backup_database_unavailable"
TOOL_FAILED = "backup_tool_failed"
FILE_CHANGED = "backup_file_changed"
WRITE_FAILED = "backup_write_failed"
ARCHIVE_INVALID = "restore_archive_invalid"
ARCHIVE_TOO_LARGE = "restore_archive_too_large"
VENDOR_MISMATCH = "restore_vendor_mismatch"
MIGRATIONS_UNKNOWN = "restore_migrations_unknown"
TARGET_NOT_EMPTY = "restore_target_not_empty"
MEDIA_NOT_EMPTY = "restore_media_not_empty"
RESTORE_FAILED = "restore_failed"


class BackupError(ApplicationError):
    """A backup or restore was refused or failed; the message says what state things are in."""


@dataclass
class BackupSummary:
    path: str
    vendor: str
    database_bytes: int
    file_count: int
    file_bytes: int
    archive_bytes: int
    created_at: str
    missing_files: list[str] = field(default_factory=list)
    vanished_files: list[str] = field(default_factory=list)
    skipped_entries: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class RestoreSummary:
    path: str
    vendor: str
    created_at: str
    database_bytes: int
    file_count: int
    file_bytes: int
    migrations_applied: list[str] = field(default_factory=list)
    missing_files: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


# ---------------------------------------------------------------------------------------------
# Backup


def create_backup(out, *, force: bool = False, using: str = DEFAULT_DB_ALIAS) -> BackupSummary:
    """Write the database and MEDIA_ROOT into the archive `out`, online (writers may keep writing).

    The archive is written beside `out` under a temporary name and renamed at the end, so `out` is
    either the complete archive or untouched. An existing `out` is refused unless `force`.
    """
    out = Path(out).absolute()
    connection = connections[using]
    media_root = Path(settings.MEDIA_ROOT).absolute()
    _check_out(out, media_root, force)
    vendor = connection.vendor
    if vendor not in DATABASE_MEMBERS:
        raise BackupError(VENDOR_UNSUPPORTED, _("Backups support SQLite and PostgreSQL databases, not %(vendor)s.") % {"vendor": vendor})
    created_at = datetime.now(UTC).isoformat(timespec="seconds")
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".work", dir=out.parent))
    # mkstemp: a unique name (two backups at once do not collide), readable by its owner only.
    descriptor, partial_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent)
    partial = Path(partial_name)
    try:
        snapshot = work / Path(DATABASE_MEMBERS[vendor]).name
        if vendor == "sqlite":
            state = _snapshot_sqlite(connection.settings_dict, snapshot)
        else:
            state = _snapshot_postgresql(connection.settings_dict, snapshot)
        with open(descriptor, "wb", closefd=False) as handle, \
                tarfile.open(fileobj=handle, mode="w:gz", compresslevel=6, format=tarfile.PAX_FORMAT) as archive:
            database_size, database_sha = _add_file(archive, DATABASE_MEMBERS[vendor], snapshot)
            snapshot.unlink()
            files, vanished, skipped = _add_media(archive, media_root)
            archived = {entry["path"] for entry in files}
            missing = sorted(name for name in state.referenced_files if name not in archived)
            manifest = {
                "format": FORMAT, "format_version": FORMAT_VERSION, "created_at": created_at,
                "database": {"vendor": vendor, "path": DATABASE_MEMBERS[vendor], "size": database_size, "sha256": database_sha},
                "migrations": state.migrations, "files": files, "missing_files": missing,
            }
            _add_bytes(archive, MANIFEST_NAME, json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8"))
        os.fsync(descriptor)
        os.replace(partial, out)
        _fsync_folder(out.parent)
    except OSError as error:  # a full disk, a file that cannot be read
        raise BackupError(WRITE_FAILED, _("The backup failed: %(error)s. %(path)s was not written.") % {"error": error, "path": out}) from error
    finally:
        os.close(descriptor)
        partial.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    return BackupSummary(
        path=str(out), vendor=vendor, database_bytes=database_size, file_count=len(files),
        file_bytes=sum(entry["size"] for entry in files), archive_bytes=out.stat().st_size, created_at=created_at,
        missing_files=missing, vanished_files=vanished, skipped_entries=skipped,
    )


def _fsync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable (a power cut after it keeps the new name)."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _check_out(out: Path, media_root: Path, force: bool) -> None:
    if out.is_dir():
        raise BackupError(OUT_INVALID, _("%(path)s is a folder; give the name of the archive file to write.") % {"path": out})
    if out.exists() and not force:
        raise BackupError(OUT_EXISTS, _("%(path)s exists already; pass --force to replace it.") % {"path": out})
    if not out.parent.is_dir():
        raise BackupError(OUT_INVALID, _("The folder %(path)s does not exist.") % {"path": out.parent})
    if out.resolve().is_relative_to(media_root.resolve()):
        raise BackupError(OUT_INVALID, _("The archive cannot be written inside MEDIA_ROOT (%(path)s): it would contain itself.")
                          % {"path": media_root})


@dataclass
class _SnapshotState:
    migrations: dict[str, list[str]]
    referenced_files: set[str]


def _file_columns() -> list[tuple[str, str]]:
    """(table, column) of every FileField: the stored files that database rows name."""
    return sorted({(model._meta.db_table, each.column) for model in apps.get_models()
                   for each in model._meta.concrete_fields if isinstance(each, models.FileField)})


def _read_state(cursor, quote) -> _SnapshotState:
    try:
        cursor.execute("SELECT app, name FROM django_migrations")
    except Exception as error:
        raise BackupError(DATABASE_UNAVAILABLE, _("The database has no migrations table; run estatecrm migrate first.")) from error
    migrations: dict[str, list[str]] = {}
    for app, name in cursor.fetchall():
        migrations.setdefault(app, []).append(name)
    referenced = set()
    for table, column in _file_columns():
        # Names from model metadata, quoted: not user input.
        cursor.execute(f"SELECT {quote(column)} FROM {quote(table)} WHERE {quote(column)} <> ''")
        referenced.update(row[0] for row in cursor.fetchall())
    return _SnapshotState({app: sorted(names) for app, names in sorted(migrations.items())}, referenced)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sqlite_path(settings_dict) -> Path:
    name = str(settings_dict["NAME"] or "")
    if not name or name == ":memory:" or "mode=memory" in name:
        raise BackupError(DATABASE_UNAVAILABLE, _("An in-memory SQLite database cannot be backed up or restored."))
    return Path(name)


def _snapshot_sqlite(settings_dict, snapshot: Path) -> _SnapshotState:
    """Copy the database with SQLite's online backup API in one step: one read transaction, so one
    consistent WAL snapshot, while other connections keep writing."""
    path = _sqlite_path(settings_dict)
    if not path.is_file():
        raise BackupError(DATABASE_UNAVAILABLE, _("The database file %(path)s does not exist.") % {"path": path})
    source = sqlite3.connect(path, timeout=float(settings_dict.get("OPTIONS", {}).get("timeout", 30)))
    target = sqlite3.connect(snapshot)
    try:
        source.backup(target)
        target.execute("PRAGMA journal_mode=DELETE")
        (result,) = target.execute("PRAGMA quick_check").fetchone()
        if result != "ok":
            raise BackupError(DATABASE_UNAVAILABLE, _("The copy of the database failed its integrity check: %(result)s") % {"result": result})
        return _read_state(target.cursor(), _quote)
    except sqlite3.Error as error:
        raise BackupError(DATABASE_UNAVAILABLE, _("Cannot read the database: %(error)s") % {"error": error}) from error
    finally:
        target.close()
        source.close()


def libpq_parameters(settings_dict) -> dict[str, str]:
    """Connection parameters for libpq (psycopg, pg_dump, psql) from Django's database settings."""
    parameters = {"dbname": settings_dict.get("NAME"), "user": settings_dict.get("USER"), "password": settings_dict.get("PASSWORD"),
                  "host": settings_dict.get("HOST"), "port": settings_dict.get("PORT")}
    options = settings_dict.get("OPTIONS") or {}
    for key in ("sslmode", "sslrootcert", "sslcert", "sslkey", "sslcrl", "service", "passfile", "connect_timeout",
                "target_session_attrs", "application_name", "options"):
        if options.get(key) not in (None, ""):
            parameters[key] = options[key]
    return {key: str(value) for key, value in parameters.items() if value not in (None, "")}


def _tool_command(tool: str, parameters: dict[str, str]) -> tuple[list[str], dict]:
    """`tool` with the connection as a conninfo argument and the password in the environment (not in ps)."""
    from psycopg.conninfo import make_conninfo

    executable = shutil.which(tool)
    if executable is None:
        raise BackupError(TOOL_FAILED, _("%(tool)s was not found; install the PostgreSQL client programs.") % {"tool": tool})
    environment = dict(os.environ)
    without_password = {key: value for key, value in parameters.items() if key != "password"}
    if "password" in parameters:
        environment["PGPASSWORD"] = parameters["password"]
    return [executable, f"--dbname={make_conninfo(**without_password)}"], environment


def _snapshot_postgresql(settings_dict, snapshot: Path) -> _SnapshotState:
    """pg_dump of one snapshot, exported by a REPEATABLE READ transaction that reads the migrations
    and the stored file names from that same snapshot."""
    import psycopg

    parameters = libpq_parameters(settings_dict)
    try:
        reader = psycopg.connect(**parameters)
    except psycopg.Error as error:
        raise BackupError(DATABASE_UNAVAILABLE, _("Cannot connect to the database: %(error)s") % {"error": error}) from error
    try:
        reader.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        reader.read_only = True
        with reader.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            (snapshot_id,) = cursor.fetchone()
            command, environment = _tool_command("pg_dump", parameters)
            command += ["--format=custom", f"--snapshot={snapshot_id}", f"--file={snapshot}"]
            done = subprocess.run(command, env=environment, capture_output=True, text=True)
            if done.returncode != 0:
                raise BackupError(TOOL_FAILED, _("pg_dump failed: %(error)s") % {"error": done.stderr.strip()})
            return _read_state(cursor, _quote)
    finally:
        reader.rollback()
        reader.close()


class _HashingReader:
    """A file object for tarfile that hashes what it reads."""

    def __init__(self, handle):
        self.handle = handle
        self.digest = hashlib.sha256()
        self.count = 0

    def read(self, size=-1):
        data = self.handle.read(size)
        self.digest.update(data)
        self.count += len(data)
        return data


def _add_file(archive: tarfile.TarFile, name: str, path: Path) -> tuple[int, str]:
    with path.open("rb") as handle:
        status = os.fstat(handle.fileno())
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = status.st_size, int(status.st_mtime), 0o600
        reader = _HashingReader(handle)
        try:
            archive.addfile(info, reader)
        except OSError as error:
            if reader.count >= status.st_size:  # not the file's fault: the archive's disk, say
                raise
            # tarfile's "unexpected end of data": the file shrank while it was read.
            raise BackupError(FILE_CHANGED, _("%(path)s changed while it was being backed up; run the backup again.")
                              % {"path": path}) from error
        return status.st_size, reader.digest.hexdigest()


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    import io

    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), int(datetime.now(UTC).timestamp()), 0o600
    archive.addfile(info, io.BytesIO(data))


def _add_media(archive: tarfile.TarFile, media_root: Path) -> tuple[list[dict], list[str], list[str]]:
    """Every regular file under MEDIA_ROOT; symbolic links, special files and names that a restore
    would refuse (a backslash, a NUL: never made by Django's storage) are skipped and listed."""
    files, vanished, skipped = [], [], []
    if not media_root.is_dir():
        return files, vanished, skipped
    for folder, folders, names in os.walk(media_root):
        folders.sort()
        for name in sorted(names) + [each for each in folders if (Path(folder) / each).is_symlink()]:
            path = Path(folder) / name
            relative = path.relative_to(media_root).as_posix()
            if path.is_symlink() or not path.is_file() or not _safe_member_name(MEDIA_PREFIX + relative):
                if path.exists() or path.is_symlink():
                    skipped.append(relative)
                continue
            try:
                size, sha = _add_file(archive, MEDIA_PREFIX + relative, path)
            except FileNotFoundError:  # deleted since the folder was listed (a purge, a revert)
                vanished.append(relative)
                continue
            files.append({"path": relative, "size": size, "sha256": sha})
    return files, vanished, skipped


# ---------------------------------------------------------------------------------------------
# Restore


@dataclass
class _Verified:
    manifest: dict
    database_member: str
    total_bytes: int


def _safe_member_name(name: str) -> bool:
    if not name or "\x00" in name or name.startswith("/") or "\\" in name:
        return False
    parts = PurePosixPath(name).parts
    return all(part not in ("", ".", "..") for part in parts) and name == "/".join(parts)


def verify_archive(path, *, max_bytes: int | None = None) -> _Verified:
    """Read the whole archive once without writing anything: every member a regular file with a safe
    name, listed in the manifest once with its size and SHA-256, the manifest complete and of a known format.
    `max_bytes` bounds the members' total size (a restore passes the free disk space): reading stops there."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(ARCHIVE_INVALID, _("The archive %(path)s does not exist.") % {"path": path})
    seen: dict[str, tuple[int, str]] = {}
    manifest_bytes = None
    total = 0
    try:
        with tarfile.open(path, "r:*") as archive:
            for member in archive:
                if len(seen) >= MAX_MEMBERS:
                    raise BackupError(ARCHIVE_TOO_LARGE, _("The archive has more than %(count)d members.") % {"count": MAX_MEMBERS})
                name = member.name
                if not _safe_member_name(name):
                    raise BackupError(ARCHIVE_INVALID, _("The archive has an unsafe member name: %(name)r.") % {"name": name})
                if not member.isreg():
                    raise BackupError(ARCHIVE_INVALID, _("The archive member %(name)s is not a regular file.") % {"name": name})
                if name in seen:
                    raise BackupError(ARCHIVE_INVALID, _("The archive has the member %(name)s twice.") % {"name": name})
                total += member.size if name != MANIFEST_NAME else 0
                if max_bytes is not None and total > max_bytes:
                    raise BackupError(ARCHIVE_TOO_LARGE, _("The archive holds more than %(size)d MB, more than the free disk space.")
                                      % {"size": max_bytes // 2**20})
                if name == MANIFEST_NAME:
                    if member.size > MANIFEST_MAX_BYTES:
                        raise BackupError(ARCHIVE_TOO_LARGE, _("The archive's manifest is too large."))
                    manifest_bytes = archive.extractfile(member).read()
                    seen[name] = (member.size, hashlib.sha256(manifest_bytes).hexdigest())
                else:
                    seen[name] = (member.size, _hash_stream(archive.extractfile(member)))
    except (tarfile.TarError, EOFError, OSError, ValueError) as error:
        raise BackupError(ARCHIVE_INVALID, _("The archive cannot be read: %(error)s") % {"error": error}) from error
    if manifest_bytes is None:
        raise BackupError(ARCHIVE_INVALID, _("The archive has no manifest.json; it is not an estatecrm backup."))
    manifest = _parse_manifest(manifest_bytes)
    database = manifest["database"]
    expected = {database["path"]: (database["size"], database["sha256"])}
    for entry in manifest["files"]:
        member = MEDIA_PREFIX + entry["path"]
        if member in expected or not _safe_member_name(member):
            raise BackupError(ARCHIVE_INVALID, _("The archive's manifest lists an unsafe or repeated file: %(name)r.") % {"name": entry["path"]})
        expected[member] = (entry["size"], entry["sha256"])
    del seen[MANIFEST_NAME]
    for name, (size, sha) in sorted(seen.items()):
        if name not in expected:
            raise BackupError(ARCHIVE_INVALID, _("The archive member %(name)s is not in its manifest.") % {"name": name})
        if (size, sha) != tuple(expected[name]):
            raise BackupError(ARCHIVE_INVALID, _("The archive member %(name)s does not match its checksum: the archive is damaged or was changed.")
                              % {"name": name})
    absent = sorted(set(expected) - set(seen))
    if absent:
        raise BackupError(ARCHIVE_INVALID, _("Files of the manifest missing from the archive: %(count)d, e.g. %(name)s.")
                          % {"count": len(absent), "name": absent[0]})
    return _Verified(manifest, database["path"], sum(size for size, _sha in seen.values()))


def _hash_stream(stream) -> str:
    digest = hashlib.sha256()
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def _parse_manifest(data: bytes) -> dict:
    invalid = BackupError(ARCHIVE_INVALID, _("The archive's manifest.json is not a valid estatecrm backup manifest."))
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise invalid from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise invalid
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(ARCHIVE_INVALID, _("The archive has format version %(found)s; this version of estatecrm reads version %(known)s.")
                          % {"found": manifest.get("format_version"), "known": FORMAT_VERSION})
    database, files, migrations = manifest.get("database"), manifest.get("files"), manifest.get("migrations")

    def is_entry(entry, *keys):
        return (isinstance(entry, dict) and all(isinstance(entry.get(key), str) for key in keys)
                and isinstance(entry.get("size"), int) and isinstance(entry.get("sha256"), str))

    if (not is_entry(database, "vendor", "path") or DATABASE_MEMBERS.get(database["vendor"]) != database["path"]
            or not isinstance(files, list) or not all(is_entry(entry, "path") for entry in files)
            or not isinstance(migrations, dict)
            or not all(isinstance(names, list) and all(isinstance(name, str) for name in names) for names in migrations.values())
            or not isinstance(manifest.get("missing_files", []), list) or not isinstance(manifest.get("created_at"), str)):
        raise invalid
    return manifest


def _vendor_name(vendor: str) -> str:
    return {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(vendor, vendor)


def _code_migrations() -> set[tuple[str, str]]:
    from django.db.migrations.loader import MigrationLoader

    return set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)


def _tables_with_rows(connection) -> list[str]:
    with connection.cursor() as cursor:
        tables = [name for name in connection.introspection.table_names(cursor) if name not in MIGRATE_FILLED_TABLES]
        found = []
        for table in tables:
            cursor.execute(f"SELECT 1 FROM {connection.ops.quote_name(table)} LIMIT 1")
            if cursor.fetchone() is not None:
                found.append(table)
    return found


def _first_media_file(media_root: Path) -> Path | None:
    if not media_root.exists():
        return None
    return next((path for path in media_root.rglob("*") if path.is_file() or path.is_symlink()), None)


def _free_bytes(path: Path) -> int:
    while not path.exists():
        path = path.parent
    return shutil.disk_usage(path).free


def restore_backup(path, *, using: str = DEFAULT_DB_ALIAS) -> RestoreSummary:
    """Restore an archive of create_backup into this installation's empty database and empty MEDIA_ROOT.

    Nothing is changed until the whole archive is verified and the targets are found empty. Then the
    files are written, then the database in one step (SQLite's backup API; on PostgreSQL the empty
    tables are dropped and pg_restore's script runs in one transaction), then `migrate` applies
    what this code has beyond the archive. On failure the written files are removed and the error
    says what state the database is in.
    """
    path = Path(path).absolute()
    connection = connections[using]
    media_root = Path(settings.MEDIA_ROOT).absolute()
    verified = verify_archive(path, max_bytes=_free_bytes(media_root))
    manifest = verified.manifest
    vendor = manifest["database"]["vendor"]
    if vendor != connection.vendor:
        raise BackupError(VENDOR_MISMATCH, _(
            "This backup holds a %(archive)s database, but the target database is %(target)s. A backup restores "
            "only into the same kind of database: set DATABASE_URL to an empty %(archive)s database.")
            % {"archive": _vendor_name(vendor), "target": _vendor_name(connection.vendor)})
    archived_migrations = {(app, name) for app, names in manifest["migrations"].items() for name in names}
    unknown = sorted(archived_migrations - _code_migrations())
    if unknown:
        raise BackupError(MIGRATIONS_UNKNOWN, _(
            "The backup was made by a newer version of estatecrm: this code lacks the migrations %(names)s. "
            "Restore it with the version that made it or a newer one.") % {"names": ", ".join(f"{app}.{name}" for app, name in unknown[:5])})
    needed = verified.total_bytes + FREE_SPACE_MARGIN
    for place in (media_root.parent, media_root):
        if _free_bytes(place) < needed:
            raise BackupError(ARCHIVE_TOO_LARGE, _(
                "The archive needs %(needed)d MB of free disk space at %(path)s; there are %(free)d MB. Nothing was changed.")
                % {"needed": -(-needed // 2**20), "path": place, "free": _free_bytes(place) // 2**20})
    if vendor == "sqlite":
        database_path = _sqlite_path(connection.settings_dict)
        # Django would create a missing database file on connecting: only look inside one that exists.
        has_tables = database_path.exists() and database_path.stat().st_size > 0
    else:
        has_tables = True
    try:
        occupied = _tables_with_rows(connection) if has_tables else []
    except DatabaseError as error:
        raise BackupError(DATABASE_UNAVAILABLE, _("Cannot read the database: %(error)s") % {"error": error}) from error
    if occupied:
        raise BackupError(TARGET_NOT_EMPTY, _(
            "The target database is not empty (%(tables)s have rows): a backup restores only into an empty "
            "database. Nothing was changed.") % {"tables": ", ".join(occupied[:5])})
    present = _first_media_file(media_root)
    if present is not None:
        raise BackupError(MEDIA_NOT_EMPTY, _(
            "MEDIA_ROOT (%(path)s) is not empty (it holds %(file)s): a backup restores only into an empty folder. "
            "Nothing was changed.") % {"path": media_root, "file": present.relative_to(media_root)})
    work_parent = media_root.parent
    work_parent.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    work = Path(tempfile.mkdtemp(prefix=".estatecrm-restore-", dir=work_parent))
    try:
        database_file = work / Path(verified.database_member).name
        try:
            _extract(path, verified, database_file, media_root, written)
        except Exception as error:
            _remove(written)
            raise BackupError(RESTORE_FAILED, _("%(error)s The files written so far were removed; the database was not changed.")
                              % {"error": getattr(error, "message", error)}) from error
        except BaseException:  # Ctrl+C: nothing of the database was touched yet
            _remove(written)
            raise
        try:
            if vendor == "sqlite":
                connection.close()
                _restore_sqlite(database_file, database_path)
            else:
                _restore_postgresql(connection, database_file)
        except BaseException as error:
            # SQLite's backup and psql's transaction roll back on any failure, Ctrl+C included.
            _remove(written)
            if not isinstance(error, Exception):
                raise
            raise BackupError(RESTORE_FAILED, _("Restoring the database failed: %(error)s The restored files were removed; "
                                                "the database was not changed.") % {"error": getattr(error, "message", error)}) from error
    finally:
        shutil.rmtree(work, ignore_errors=True)
    applied = _migrate(connection)
    files = manifest["files"]
    return RestoreSummary(
        path=str(path), vendor=vendor, created_at=manifest["created_at"], database_bytes=manifest["database"]["size"],
        file_count=len(files), file_bytes=sum(entry["size"] for entry in files), migrations_applied=applied,
        missing_files=list(manifest.get("missing_files", [])),
    )


def _extract(path: Path, verified: _Verified, database_file: Path, media_root: Path, written: list[Path]) -> None:
    """Second read of the archive: the database to `database_file`, the files into MEDIA_ROOT, each
    checked again against the manifest (the archive may have changed since it was verified)."""
    expected = {verified.database_member: verified.manifest["database"]["sha256"]}
    expected.update({MEDIA_PREFIX + entry["path"]: entry["sha256"] for entry in verified.manifest["files"]})
    root = media_root.resolve() if media_root.exists() else None
    media_root.mkdir(parents=True, exist_ok=True)
    root = root or media_root.resolve()
    done = set()
    try:
        with tarfile.open(path, "r:*") as archive:
            for member in archive:
                if member.name == MANIFEST_NAME:
                    continue
                if member.name not in expected or member.name in done or not member.isreg():
                    raise BackupError(ARCHIVE_INVALID, _("The archive changed while it was being restored."))
                if member.name == verified.database_member:
                    target = database_file
                else:
                    target = root / member.name.removeprefix(MEDIA_PREFIX)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    if not target.parent.resolve().is_relative_to(root):
                        raise BackupError(ARCHIVE_INVALID, _("The archive has an unsafe member name: %(name)r.") % {"name": member.name})
                partial = target.with_name(f".{target.name}.restoring")
                digest = hashlib.sha256()
                source = archive.extractfile(member)
                with partial.open("xb") as handle:
                    while chunk := source.read(CHUNK):
                        digest.update(chunk)
                        handle.write(chunk)
                if digest.hexdigest() != expected[member.name]:
                    partial.unlink()
                    raise BackupError(ARCHIVE_INVALID, _("The archive changed while it was being restored."))
                os.utime(partial, (member.mtime, member.mtime))
                os.replace(partial, target)
                if target != database_file:
                    written.append(target)
                done.add(member.name)
    except (tarfile.TarError, EOFError, OSError) as error:
        raise BackupError(ARCHIVE_INVALID, _("The archive cannot be read: %(error)s") % {"error": error}) from error
    if done != set(expected):
        raise BackupError(ARCHIVE_INVALID, _("The archive changed while it was being restored."))


def _remove(written: list[Path]) -> None:
    for each in written:
        each.unlink(missing_ok=True)


def _restore_sqlite(database_file: Path, database_path: Path) -> None:
    """SQLite's backup API into the target file: one write transaction, rolled back on failure."""
    database_path.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(database_file)
    target = sqlite3.connect(database_path, timeout=30)
    try:
        source.backup(target)
        (result,) = target.execute("PRAGMA integrity_check").fetchone()
        if result != "ok":
            raise BackupError(RESTORE_FAILED, _("The restored database failed its integrity check: %(result)s") % {"result": result})
    except sqlite3.Error as error:
        raise BackupError(RESTORE_FAILED, str(error)) from error
    finally:
        target.close()
        source.close()


def _restore_postgresql(connection, database_file: Path) -> None:
    """Drop the target's (empty) tables and run pg_restore's script through psql in ONE transaction
    that is committed only when pg_restore finished without error: the whole dump or nothing of it.
    Sequences (identity columns) come with the dump, at their values of the backup."""
    with connection.cursor() as cursor:
        tables = [table.name for table in connection.introspection.get_table_list(cursor) if table.type == "t"]
    connection.close()
    parameters = libpq_parameters(connection.settings_dict)
    restore_command, environment = _tool_command("pg_restore", parameters)
    # pg_restore writes the script to stdout instead of connecting: no --dbname.
    restore_command = [restore_command[0], "--no-owner", "--no-privileges", "--file=-", str(database_file)]
    psql_command, _environment = _tool_command("psql", parameters)
    psql_command += ["--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1"]
    restore_log = database_file.with_name("pg_restore.log")
    psql_log = database_file.with_name("psql.log")
    with restore_log.open("wb") as restore_errors, psql_log.open("wb") as psql_errors:
        psql = subprocess.Popen(psql_command, env=environment, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=psql_errors)
        script = subprocess.Popen(restore_command, env=environment, stdout=subprocess.PIPE, stderr=restore_errors)
        try:
            psql.stdin.write(b"BEGIN;\n")
            psql.stdin.write("".join(f"DROP TABLE IF EXISTS {_quote(table)} CASCADE;\n" for table in tables).encode("utf-8"))
            while chunk := script.stdout.read(CHUNK):
                psql.stdin.write(chunk)
            script.wait()
            psql.stdin.write(b"COMMIT;\n" if script.returncode == 0 else b"ROLLBACK;\n")
            psql.stdin.close()
        except BrokenPipeError:  # psql stopped at an error (ON_ERROR_STOP): its transaction is rolled back
            pass
        finally:
            if script.poll() is None:
                script.kill()
            script.wait()
            script.stdout.close()
            psql.wait()
    if psql.returncode != 0:
        raise BackupError(TOOL_FAILED, _("psql failed: %(error)s") % {"error": psql_log.read_text("utf-8", "replace").strip()})
    if script.returncode != 0:
        raise BackupError(TOOL_FAILED, _("pg_restore failed: %(error)s") % {"error": restore_log.read_text("utf-8", "replace").strip()})


def _migrate(connection) -> list[str]:
    """Apply the migrations this code has beyond the restored database (a backup of an older version)."""
    from django.core.management import call_command
    from django.db.migrations.executor import MigrationExecutor

    connection.close()
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if not plan:
        return []
    names = [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]
    try:
        call_command("migrate", database=connection.alias, interactive=False, verbosity=0)
    except Exception as error:
        raise BackupError(RESTORE_FAILED, _(
            "The database and the files were restored, but applying this version's migrations failed: %(error)s. "
            "Run estatecrm migrate after fixing the cause.") % {"error": error}) from error
    return names
