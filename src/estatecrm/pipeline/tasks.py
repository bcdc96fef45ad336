"""Background tasks of the pipeline: each takes a run id and is idempotent."""

from django_tasks import task

from estatecrm.pipeline.engine import execute_run, stale_run_ids


@task()
def run_pipeline(run_id: int) -> str | None:
    """Run or resume one run (nothing happens when it already ended or another worker holds it)."""
    return execute_run(run_id)


def resume_stale_runs(backend: str = "default") -> list[int]:
    """Re-enqueue runs whose worker died on the worker's task backend. Returns their ids."""
    run_ids = stale_run_ids()
    for run_id in run_ids:
        run_pipeline.using(backend=backend).enqueue(run_id)
    return run_ids
