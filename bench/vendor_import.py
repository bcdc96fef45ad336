"""Move-in from another vendor benchmark (issue 14, Done when).

    .venv/bin/python bench/vendor_import.py [--listings 50000] [--seekers 100000] [--active 0.2] [--workdir DIR] [--profile FILE]

Generates a template package (bench/generate_vendor_package.py: `--active` of the listings and seekers
active, about 2 activities and 1 link per seeker) and the company it goes into (`estatecrm tenant apply`),
then loads it with `estatecrm vendor import ... --json` in its own process, phase by phase: the active
phase (goal: under 30 s) and the archive phase (goal: both under 3 minutes). Each phase's time is end to
end (package read and checked, agents pre-flight, the run's copy of the package, every batch), with its
peak memory (ru_maxrss) and CPU time. Database: DATABASE_URL (default: a fresh SQLite file in the work
directory; a PostgreSQL database is flushed first). `--profile FILE` runs the active phase under
cProfile (FILE) and the archive phase under cProfile (FILE.archive).
"""

import argparse
import json
import os
import subprocess
import time

from benchlib import ESTATECRM, PYTHON, ROOT, environment, measured, run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--listings", type=int, default=50_000)
    parser.add_argument("--seekers", type=int, default=100_000)
    parser.add_argument("--active", type=float, default=0.2)
    parser.add_argument("--workdir")
    parser.add_argument("--profile")
    options = parser.parse_args()
    workdir, env = environment(options.workdir)

    package, tenant = workdir / f"vendor-{options.listings}-{options.seekers}.zip", workdir / "tenant.yaml"
    started = time.perf_counter()
    generate = [PYTHON, str(ROOT / "bench/generate_vendor_package.py"), str(options.listings), str(options.seekers), str(package),
                "--active", str(options.active), "--tenant", str(tenant), "--seed", "1"]
    counts = run(generate, env, stdout=subprocess.PIPE).stdout.decode().strip()
    print(f"generated the package in {time.perf_counter() - started:.1f}s ({package.stat().st_size / 1e6:.0f} MB): {counts}")

    if env["DATABASE_URL"].startswith("postgres"):
        run(ESTATECRM + ["flush", "--noinput"], env, stdout=subprocess.DEVNULL)
    run(ESTATECRM + ["migrate", "-v0"], env)
    run(ESTATECRM + ["tenant", "apply", str(tenant)], env, stdout=subprocess.DEVNULL)
    total = 0.0
    for phase in ("active", "archive"):
        command = ["vendor", "import", str(package), "--company", "bench", "--profile", "template", "--as", "admin@example-fudosan.jp",
                   "--phase", phase, "--json"]
        if options.profile:
            command = [PYTHON, "-m", "cProfile", "-o", options.profile + ("" if phase == "active" else ".archive"), "-m", "estatecrm", *command]
        else:
            command = ESTATECRM + command
        load_before = os.getloadavg()[0]
        seconds, peak, cpu, output = measured(command, env)
        total += seconds
        result = json.loads(output.strip().splitlines()[-1])
        records = sum(values["source"] for values in result["entities"].values())
        print(json.dumps(result, ensure_ascii=False))
        print(f"{phase} phase: {records:,} records in {seconds:.1f}s = {records / seconds:,.0f} records/s end to end, status {result['status']}, "
              f"peak memory {peak:.0f} MB, CPU {cpu:.1f}s (load average before {load_before:.1f}, after {os.getloadavg()[0]:.1f})")
    print(f"both phases: {total:.1f}s")


if __name__ == "__main__":
    main()
