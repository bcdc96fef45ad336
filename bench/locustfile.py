"""The users of bench/load_test.py: office staff browsing the case list, searching and opening cases.

Each simulated user logs in once (an agent or the admin of bench/case_list.py's company), then, with a
pause of 1-3 s between actions as a person at work has: the case list's first page, a filtered page,
a name search, a phone search, and a case's detail page (ids from LOAD_CASE_IDS, a range).
"""

import os
import random
import re

from locust import HttpUser, between, task

LOW, HIGH = (int(part) for part in os.environ.get("LOAD_CASE_IDS", "1-1000").split("-"))
PASSWORD = "pass-Word-123"  # core.testing.make_user's, which bench/case_list.py's users have
NAMES = ("山田", "佐藤", "鈴木", "高橋", "田中", "伊藤")


class OfficeStaff(HttpUser):
    wait_time = between(1, 3)

    def on_start(self):
        email = random.choice(["admin@bench.example.jp"] + [f"agent{i:02d}@bench.example.jp" for i in range(12)])
        page = self.client.get("/login/", name="login page")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        self.client.post("/login/", {"username": email, "password": PASSWORD, "csrfmiddlewaretoken": token.group(1) if token else ""},
                         headers={"Referer": f"{self.host}/login/"}, name="log in")

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
