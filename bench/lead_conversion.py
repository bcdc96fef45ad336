"""The lead import's reading process alone: CPU per row of reading, converting and sending the rows.

    .venv/bin/python bench/lead_conversion.py [--rows 200000] [--workdir DIR] [--repeat 3] [--profile]

Generates a CP932 list (bench/generate_leads.py, seed 2, as bench/lead_import.py's measured list) unless
the work directory has it, then runs the import's reading process as the import does (`converted_batches`
in `produce_in_child`'s forked child, its batches pickled through the queue), without the duplicate
lookups, which need a database. Prints, per run, the CPU time per row of reading the file alone
(in-process), of the reading child (its rusage) and of receiving the batches (this process), and a digest
of every converted row: two versions of the code that print the same digest for the same file gave the
writer the same rows. `--profile` prints cProfile's top functions of the child's generator run in-process.
"""

import argparse
import cProfile
import hashlib
import os
import pickle
import pstats
import resource
import subprocess
import sys
import time
from dataclasses import astuple
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--workdir", default="/tmp/estatecrm-bench-conversion")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    options = parser.parse_args()
    workdir = Path(options.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    source = workdir / f"leads-{options.rows}.csv"
    if not source.exists():
        subprocess.run([sys.executable, str(ROOT / "bench/generate_leads.py"), str(options.rows), str(source), "--seed", "2"], check=True)
    os.environ.update(MEDIA_ROOT=str(workdir), ESTATECRM_VAR_DIR=str(workdir / "var"),
                      DJANGO_SETTINGS_MODULE="estatecrm.config.settings.base")
    import django

    django.setup()
    from estatecrm.leads.fields import lead_fields
    from estatecrm.leads.jobs import converted_batches
    from estatecrm.pipeline.mapping import suggest_mapping
    from estatecrm.pipeline.parallel import produce_in_child
    from estatecrm.pipeline.readers import open_table

    # The project of bench/lead_import.py: one custom number field, the list's own column.
    custom_fields = {"所有物件数": ("number", [])}
    headers = open_table(source).info.headers
    params = {"mapping": suggest_mapping(headers, lead_fields(custom_fields)), "region": "JP"}

    def read_only() -> int:
        return sum(1 for _row in open_table(source).rows())

    def reading_process() -> tuple[int, float, float]:
        """Rows, the child's CPU seconds, this process's CPU seconds receiving them."""
        rows = 0
        children_before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.process_time()
        for batch in produce_in_child(converted_batches, source.name, params, custom_fields, 0):
            rows += len(batch.rows)
        receiving = time.process_time() - started
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        child = children.ru_utime + children.ru_stime - children_before.ru_utime - children_before.ru_stime
        return rows, child, receiving

    def in_process() -> None:
        for batch in converted_batches(source.name, params, custom_fields, 0):
            pickle.dumps(batch, pickle.HIGHEST_PROTOCOL)  # what multiprocessing's queue does with it

    def output_digest() -> str:
        """Every field of every converted row (the digest is the bench's own work: not timed)."""
        digest = hashlib.sha256()
        for batch in converted_batches(source.name, params, custom_fields, 0):
            for lead in batch.rows:
                digest.update(repr(astuple(lead)).encode())
        return digest.hexdigest()[:16]

    print(f"file: {source} ({source.stat().st_size / 1e6:.0f} MB), python {sys.version.split()[0]}, {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC")
    for number in range(1, options.repeat + 1):
        started = time.process_time()
        rows = read_only()
        read_cpu = time.process_time() - started
        converted_rows, child, receiving = reading_process()
        print(f"run {number}: {converted_rows} rows; reading alone {read_cpu / rows * 1e6:.1f} µs/row; the reading process "
              f"(read, convert, encode, pickle) {child / converted_rows * 1e6:.1f} µs/row; receiving {receiving / converted_rows * 1e6:.1f} µs/row")
    # The largest child so far: the reading processes (the generator's run, if any, is far smaller).
    print(f"peak memory of a reading process: {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MB")
    print(f"digest of the converted rows: {output_digest()}")
    if options.profile:
        profiler = cProfile.Profile()
        profiler.runcall(in_process)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main()
