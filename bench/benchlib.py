"""What the benchmarks share: the work directory's environment, running commands, measuring one.

Imported by the scripts beside it (`python bench/<script>.py` puts this folder on sys.path)."""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
ESTATECRM = [PYTHON, "-m", "estatecrm"]


def environment(workdir_option: str | None) -> tuple[Path, dict]:
    """The work directory (a new temporary one unless given) and the environment of the commands run in
    it: DATABASE_URL as set, else a fresh SQLite file in the work directory."""
    workdir = Path(workdir_option or tempfile.mkdtemp(prefix="estatecrm-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, ESTATECRM_VAR_DIR=str(workdir / "var"), DJANGO_SETTINGS_MODULE="estatecrm.config.settings.base")
    if "DATABASE_URL" not in env:
        for stale in workdir.glob("bench.sqlite3*"):
            stale.unlink()
        env["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    print(f"database: {env['DATABASE_URL'].split('@')[-1]}  workdir: {workdir}")
    return workdir, env


def run(command, env, **kwargs):
    return subprocess.run(command, env=env, check=True, **kwargs)


def measured(command, env) -> tuple[float, float, float, str]:
    """Run a command, returning (seconds, peak RSS in MB, CPU seconds, stdout); the peak and the CPU time
    include the process's own children (a reading or converting process)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=errors)
        output = process.stdout.read()
        _pid, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        if status != 0:
            errors.seek(0)
            raise SystemExit(f"failed: {' '.join(map(str, command))}\n{errors.read().decode(errors='replace')[-3000:]}")
    return seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, output.decode()


class StatementCounter:
    """A connection.execute_wrapper counting the statements (no query log: it keeps only 9,000)."""

    def __init__(self):
        self.statements = 0

    def __call__(self, execute, sql, params, many, context):
        self.statements += 1
        return execute(sql, params, many, context)


def fresh_postgres_database(url: str) -> None:
    """Drop and create the database DATABASE_URL names (a fresh one per run), through the server's
    `postgres` database; SQLite URLs are left alone."""
    from urllib.parse import urlsplit

    import psycopg

    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        return
    name = parts.path.lstrip("/")
    if not name or name == "postgres" or not name.replace("_", "").isalnum():
        raise SystemExit(f"name a database of its own in DATABASE_URL (it is dropped and created): {name!r}")
    with psycopg.connect(parts._replace(path="/postgres").geturl(), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages (the machine is shared: written beside every figure)."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])
