"""Background tasks of the pipeline: each takes a run (or range) id and is idempotent."""

from django_tasks import task

from estatecrm.pipeline.engine import execute_range, execute_run, stale_range_ids, stale_run_ids


@task(takes_context=True)
def run_pipeline(context, run_id: int) -> str | None:
    """Run or resume one run (nothing happens when it already ended or another worker holds it). A run
    split into ranges enqueues them on this task's backend."""
    return execute_run(run_id, backend=context.task_result.backend)


@task()
def run_range(range_id: int) -> str | None:
    """Write or resume one range of a split run (nothing happens when it ended or another worker holds it)."""
    return execute_range(range_id)


def resume_stale_runs(backend: str = "default") -> list[int]:
    """Re-enqueue runs whose worker died on the worker's task backend. Returns their ids."""
    run_ids = stale_run_ids()
    for run_id in run_ids:
        run_pipeline.using(backend=backend).enqueue(run_id)
    return run_ids


def resume_stale_ranges(backend: str = "default") -> list[int]:
    """Re-enqueue ranges of split runs whose worker died (only that range resumes). Returns their ids."""
    range_ids = stale_range_ids()
    for range_id in range_ids:
        run_range.using(backend=backend).enqueue(range_id)
    return range_ids
