"""The users of bench/load_test.py: office staff browsing the case list, searching and opening cases.

Each simulated user logs in once (an agent or the admin of bench/case_list.py's company), then, with a
pause of 1-3 s between actions as a person at work has: the case list's first page, a filtered page,
a name search, a phone search, and a case's detail page (ids from LOAD_CASE_IDS, a range).

Phases: every request is timed here as well as by locust; those that start in the first LOAD_WARMUP
seconds (the users' log-ins, spread over the warm-up by bench/load_test.py, and the queue they leave) are
the warm-up, the rest the measured window. At the end, LOAD_RESULTS (a path) receives per phase and request
kind: requests, failures, requests/s, p50/p95/p99 (ms; exact, from every request's time).
"""

import json
import os
import random
import re
import time

from locust import HttpUser, between, events, task

LOW, HIGH = (int(part) for part in os.environ.get("LOAD_CASE_IDS", "1-1000").split("-"))
PASSWORD = "pass-Word-123"  # core.testing.make_user's, which bench/case_list.py's users have
NAMES = ("山田", "佐藤", "鈴木", "高橋", "田中", "伊藤")


class OfficeStaff(HttpUser):
    wait_time = between(1, 3)

    def on_start(self):
        email = random.choice(["admin@bench.example.jp"] + [f"agent{i:02d}@bench.example.jp" for i in range(12)])
        page = self.client.get("/login/", name="login page")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        # The log-in alone (its redirect not followed): the dashboard it leads to computes the user's first
        # overview (1.2-1.7 s at 1,000,000 cases, then cached for a minute; bench/dashboard.py measures it), which
        # is not what this load test is about (the case list, details and search).
        with self.client.post("/login/", {"username": email, "password": PASSWORD, "csrfmiddlewaretoken": token.group(1) if token else ""},
                              headers={"Referer": f"{self.host}/login/"}, name="log in", allow_redirects=False, catch_response=True) as response:
            if response.status_code != 302:
                response.failure(f"log-in not accepted ({response.status_code})")

    @task(4)
    def case_list(self):
        self.client.get("/cases/", name="case list")

    @task(2)
    def filtered(self):
        self.client.get("/cases/?status=追客中", name="case list: status")

    @task(2)
    def search_name(self):
        self.client.get(f"/cases/?q={random.choice(NAMES)}", name="search: name")

    @task(1)
    def search_phone(self):
        self.client.get(f"/cases/?q=090{random.randint(1000, 9999)}", name="search: phone")

    @task(3)
    def detail(self):
        # An agent may open a case of another store: its 404 is the access rule working, not an error.
        with self.client.get(f"/cases/{random.randint(LOW, HIGH)}/", name="case detail", catch_response=True) as response:
            if response.status_code == 404:
                response.success()


WARMUP = float(os.environ.get("LOAD_WARMUP", "0"))
TIMES: dict[tuple[str, str], list[float]] = {}
FAILURES: dict[tuple[str, str], int] = {}
CLOCK = {"started": None, "stopped": None}


@events.test_start.add_listener
def started(**_kwargs):
    CLOCK["started"] = time.monotonic()


@events.request.add_listener
def timed(name, response_time, exception, start_time=None, **_kwargs):
    # start_time: the wall clock when the request began (locust >= 2.13); else the end, near enough.
    begun = time.monotonic() - (time.time() - start_time) if start_time else time.monotonic()
    phase = "warm-up" if begun - (CLOCK["started"] or begun) < WARMUP else "window"
    TIMES.setdefault((phase, name), []).append(response_time)
    if exception is not None:
        FAILURES[(phase, name)] = FAILURES.get((phase, name), 0) + 1


def summary(times: list[float], failures: int, seconds: float) -> dict:
    times = sorted(times)

    def percentile(share):
        return round(times[min(len(times) - 1, max(0, int(len(times) * share + 0.5) - 1))]) if times else None

    return {"requests": len(times), "failures": failures, "per_s": round(len(times) / seconds, 2) if seconds > 0 else None,
            "p50": percentile(0.50), "p95": percentile(0.95), "p99": percentile(0.99)}


@events.test_stop.add_listener
def report(**_kwargs):
    path = os.environ.get("LOAD_RESULTS")
    if not path or CLOCK["started"] is None:
        return
    total = time.monotonic() - CLOCK["started"]
    durations = {"warm-up": min(WARMUP, total), "window": max(0.0, total - WARMUP)}
    results = {"warmup_seconds": durations["warm-up"], "window_seconds": round(durations["window"], 1), "phases": {}}
    for phase, seconds in durations.items():
        kinds = sorted(name for kind_phase, name in TIMES if kind_phase == phase)
        every = [value for name in kinds for value in TIMES[(phase, name)]]
        failures = sum(FAILURES.get((phase, name), 0) for name in kinds)
        browsing = [value for name in kinds if name not in ("log in", "login page") for value in TIMES[(phase, name)]]
        results["phases"][phase] = {
            **{name: summary(TIMES[(phase, name)], FAILURES.get((phase, name), 0), seconds) for name in kinds},
            "all": summary(every, failures, seconds),
            "browsing (no log-ins)": summary(browsing, sum(FAILURES.get((phase, name), 0) for name in kinds if name not in ("log in", "login page")), seconds),
        }
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(results, handle, ensure_ascii=False, indent=1)
