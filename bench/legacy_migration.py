"""Legacy desktop migration benchmark (issue 5, Performance).

    .venv/bin/python bench/legacy_migration.py [--cases 100000] [--customers N] [--workdir DIR] [--profile FILE]

Generates a bundle of `--cases` follow-up cases (bench/generate_legacy_bundle.py: 80 % as many
customers, 5 activities and 8 desired-condition rows per case, some attachments) and the tenant it goes
into (the sample's units and masters, one user per staff member with an e-mail), applies the tenant
(`estatecrm tenant apply`), then migrates the whole bundle into HQ with
`estatecrm legacy-migrate run ... --json` in its own process: cases/s end to end (bundle check, store,
read, convert, write, report) and its peak memory (ru_maxrss) are printed. Database: DATABASE_URL
(default: a fresh SQLite file in the work directory; a PostgreSQL database is flushed first).
`--profile FILE` runs the migration under cProfile instead (slower; for finding where time goes).
"""

import argparse
import json
import os
import subprocess
import time

from benchlib import ESTATECRM, PYTHON, ROOT, environment, measured, run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--customers", type=int)
    parser.add_argument("--workdir")
    parser.add_argument("--profile")
    options = parser.parse_args()
    workdir, env = environment(options.workdir)

    bundle, tenant = workdir / f"legacy-{options.cases}.zip", workdir / "tenant.yaml"
    started = time.perf_counter()
    generate = [PYTHON, str(ROOT / "bench/generate_legacy_bundle.py"), str(options.cases), str(bundle), "--tenant", str(tenant), "--seed", "1"]
    if options.customers:
        generate += ["--customers", str(options.customers)]
    counts = run(generate, env, stdout=subprocess.PIPE).stdout.decode().strip()
    print(f"generated the bundle in {time.perf_counter() - started:.1f}s ({bundle.stat().st_size / 1e6:.0f} MB): {counts}")

    if env["DATABASE_URL"].startswith("postgres"):
        run(ESTATECRM + ["flush", "--noinput"], env, stdout=subprocess.DEVNULL)
    run(ESTATECRM + ["migrate", "-v0"], env)
    run(ESTATECRM + ["tenant", "apply", str(tenant)], env, stdout=subprocess.DEVNULL)
    command = ["legacy-migrate", "run", str(bundle), "--company", "bench", "--org", "HQ", "--as", "admin@example-fudosan.jp", "--json"]
    if options.profile:
        command = [PYTHON, "-m", "cProfile", "-o", options.profile, "-m", "estatecrm", *command]
    else:
        command = ESTATECRM + command
    load_before = os.getloadavg()[0]
    seconds, peak, cpu, output = measured(command, env)
    result = json.loads(output.strip().splitlines()[-1])
    print(json.dumps(result, ensure_ascii=False))
    migrated = result["migrated"]
    print(f"migration: {options.cases:,} source cases ({migrated:,} migrated, {result['activities_migrated']:,} activities) in {seconds:.1f}s"
          f" = {options.cases / seconds:,.0f} cases/s end to end ({migrated / seconds:,.0f} migrated/s), peak memory {peak:.0f} MB, "
          f"CPU {cpu:.1f}s (both processes; load average before {load_before:.1f}, after {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
