"""The worker's periodic jobs (core/periodic.py): each runs when it is due, and only then."""

import logging
import threading

import pytest

from estatecrm.core import periodic


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def jobs(monkeypatch):
    """An empty registry for the test (the apps' own jobs are not run)."""
    monkeypatch.setattr(periodic, "JOBS", {})
    return periodic.JOBS


def test_a_job_runs_at_once_then_every_period(jobs):
    # given: a job every 300 seconds
    calls = []
    periodic.register("test.job", lambda: calls.append(clock.now), seconds=300)
    clock = Clock()
    schedule = periodic.Schedule(clock)
    # when / then: at once, not before 300 s, then again
    assert schedule.run_due() == ["test.job"]
    clock.now += 299
    assert schedule.run_due() == []
    assert schedule.seconds_to_next() == 1
    clock.now += 1
    assert schedule.run_due() == ["test.job"]
    assert calls == [1000.0, 1300.0]


def test_a_period_of_zero_turns_the_job_off_and_is_read_at_each_turn(jobs):
    period = {"seconds": 0}
    calls = []
    periodic.register("test.job", lambda: calls.append(1), seconds=lambda: period["seconds"])
    clock = Clock()
    schedule = periodic.Schedule(clock)
    assert schedule.run_due() == []
    assert schedule.seconds_to_next() == periodic.LONGEST_SLEEP_SECONDS
    # when: the setting turns it on
    period["seconds"] = 60
    assert schedule.run_due() == ["test.job"]
    assert calls == [1]


def test_a_failing_job_is_logged_and_runs_again_at_its_next_turn(jobs, caplog):
    calls = []

    def failing():
        calls.append(1)
        raise RuntimeError("mailbox on fire")

    periodic.register("test.failing", failing, seconds=10)
    clock = Clock()
    schedule = periodic.Schedule(clock)
    with caplog.at_level(logging.ERROR, logger="estatecrm.core.periodic"):
        assert schedule.run_due() == ["test.failing"]
    assert [record.getMessage() for record in caplog.records] == ["periodic job test.failing failed"]
    clock.now += 10
    assert schedule.run_due() == ["test.failing"]
    assert calls == [1, 1]


def test_the_worker_thread_runs_due_jobs_until_stopped(jobs):
    ran = threading.Event()
    periodic.register("test.job", ran.set, seconds=60)
    stop = threading.Event()
    thread = threading.Thread(target=periodic.run_periodic_jobs, args=(stop,))
    thread.start()
    try:
        assert ran.wait(5)
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()

