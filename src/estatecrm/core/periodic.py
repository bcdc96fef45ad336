"""Jobs the worker runs every few minutes (`estatecrm worker` runs them in a thread of its own).

Feature apps register theirs in `AppConfig.ready()`:

    periodic.register("inquiries.fetch", fetch_due_mailboxes, seconds=lambda: settings.INQUIRY_FETCH_SECONDS)

`seconds` is read at each turn (so a setting, or a test's override, applies); 0 or less turns the job
off. A job runs first when the worker starts, then `seconds` after each start. Every worker runs every
job: a job that must not run twice at once, or more often than its period across workers, guards
itself in the database (the mailbox fetch takes a per-company lease and checks when it last started).
A job that raises is logged and runs again at its next turn.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import close_old_connections

logger = logging.getLogger(__name__)
# The longest the worker's thread sleeps between looks at the schedule (a job turned on later starts within it).
LONGEST_SLEEP_SECONDS = 30.0


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    function: Callable[[], object]
    seconds: Callable[[], float]


JOBS: dict[str, PeriodicJob] = {}


def register(name: str, function: Callable[[], object], *, seconds: Callable[[], float] | float) -> None:
    """Run `function()` every `seconds` in each worker (registering a name again replaces the job)."""
    period = seconds if callable(seconds) else (lambda: seconds)
    JOBS[name] = PeriodicJob(name, function, period)


class Schedule:
    """When each registered job is next due in this process."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.next_at: dict[str, float] = {}

    def run_due(self) -> list[str]:
        """Run the jobs that are due, one after the other; return their names."""
        ran = []
        for job in list(JOBS.values()):
            seconds = _period(job)
            if seconds <= 0:
                self.next_at.pop(job.name, None)
                continue
            now = self.clock()
            if now < self.next_at.setdefault(job.name, now):
                continue
            self.next_at[job.name] = now + seconds
            ran.append(job.name)
            try:
                job.function()
            except Exception:
                logger.exception("periodic job %s failed", job.name)
            finally:
                close_old_connections()
        return ran

    def seconds_to_next(self) -> float:
        now = self.clock()
        waits = [self.next_at.get(job.name, now) - now for job in JOBS.values() if _period(job) > 0]
        return min([LONGEST_SLEEP_SECONDS, *waits]) if waits else LONGEST_SLEEP_SECONDS


def _period(job: PeriodicJob) -> float:
    try:
        return float(job.seconds() or 0)
    except Exception:
        logger.exception("periodic job %s: its period could not be read", job.name)
        return 0.0


def run_periodic_jobs(stop: threading.Event, schedule: Schedule | None = None) -> None:
    """The worker's thread: run due jobs until `stop` is set."""
    schedule = schedule or Schedule()
    while not stop.is_set():
        schedule.run_due()
        stop.wait(max(0.05, schedule.seconds_to_next()))
