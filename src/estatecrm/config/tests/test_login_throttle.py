"""Log-in throttling: per account, a progressive delay, the client's address from trusted proxies only.

Time moves by shifting the recorded failures into the past (AccessAttempt.attempt_time), so the
tests wait for nothing and need no clock patching.
"""

import datetime

import pytest
from axes.models import AccessAttempt
from django.db.models import F
from django.test import Client, RequestFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pass-Word-123"  # core.testing.make_user's
PROXY = {"REMOTE_ADDR": "127.0.0.1"}


@pytest.fixture
def behind_the_proxy(settings):
    """The documented set-up: a TLS proxy on this machine that appends the client to X-Forwarded-For."""
    settings.TRUSTED_PROXIES = ["127.0.0.1"]


def log_in(email: str, password: str, *, client_address: str = "203.0.113.9", **extra):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = client.post("/login/", {"username": email, "password": password}, **PROXY,
                           HTTP_X_FORWARDED_FOR=f"198.51.100.1, {client_address}", **extra)
    return response


def pass_time(seconds: float) -> None:
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - datetime.timedelta(seconds=seconds))


def failures_of(email: str) -> int:
    return sum(AccessAttempt.objects.filter(username=email).values_list("failures_since_start", flat=True))


def test_strangers_failures_delay_the_account_briefly_and_the_right_password_then_works(agent, behind_the_proxy):
    # given: five wrong passwords for the agent's account from five other addresses and browsers (all through the proxy)
    for number in range(5):
        log_in(agent.email, "wrong", client_address=f"203.0.113.{10 + number}", HTTP_USER_AGENT=f"bot/{number}")
    # when: the agent, at once and then after the announced delay of 2 seconds
    at_once = log_in(agent.email, PASSWORD, client_address="192.0.2.50")
    pass_time(2)
    after_the_delay = log_in(agent.email, PASSWORD, client_address="192.0.2.50")
    # then
    assert (at_once.status_code, at_once["Retry-After"]) == (429, "2")
    assert (after_the_delay.status_code, after_the_delay["Location"]) == (302, "/")
    assert AccessAttempt.objects.count() == 0  # a successful log-in forgets the failures


def test_the_delay_doubles_with_each_failure_after_the_limit_and_attempts_while_waiting_do_not_extend_it(agent, behind_the_proxy):
    # given: five failures
    for _ in range(5):
        log_in(agent.email, "wrong")
    # when / then: during the wait nothing is checked or counted
    during = log_in(agent.email, PASSWORD)
    assert (during.status_code, during["Retry-After"], failures_of(agent.email)) == (429, "2", 5)
    pass_time(1)
    assert log_in(agent.email, "wrong")["Retry-After"] == "1"
    assert failures_of(agent.email) == 5
    # when / then: after the wait a wrong password counts and doubles the delay, up to the cap
    waits = []
    for _ in range(10):
        pass_time(10_000)
        waits.append(int(log_in(agent.email, "wrong")["Retry-After"]))
    assert waits == [4, 8, 16, 32, 64, 128, 256, 512, 900, 900]
    assert failures_of(agent.email) == 15
    # when / then: after the (capped) wait the right password works
    pass_time(900)
    assert log_in(agent.email, PASSWORD).status_code == 302


def test_the_lock_is_per_account_whatever_the_spelling_of_the_address_and_other_accounts_log_in(agent, company_admin, behind_the_proxy):
    # given: failures spread over two spellings of the agent's address
    for email in (agent.email, agent.email.upper(), f" {agent.email} ", agent.email.title(), agent.email):
        log_in(email, "wrong")
    # when
    agent_response = log_in(agent.email, PASSWORD)
    admin_response = log_in(company_admin.email, PASSWORD)
    # then: the agent's account waits, the administrator (same proxy, same client) logs in
    assert agent_response.status_code == 429
    assert admin_response.status_code == 302


def test_the_locked_page_says_how_long_to_wait(agent, behind_the_proxy):
    # given
    for _ in range(5):
        log_in(agent.email, "wrong")
    pass_time(10_000)
    log_in(agent.email, "wrong")
    # when
    response = log_in(agent.email, PASSWORD)
    # then
    assert (response.status_code, response["Retry-After"]) == (429, "4")
    assert "Too many failed log-in attempts for this account. Try again in 4 seconds." in response.content.decode()


def test_a_failure_records_the_client_behind_the_trusted_proxy(agent, behind_the_proxy):
    # when
    log_in(agent.email, "wrong", client_address="203.0.113.77")
    # then
    assert list(AccessAttempt.objects.values_list("username", "ip_address")) == [(agent.email, "203.0.113.77")]


def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(settings):
    from estatecrm.core.login_throttle import client_ip_address

    # given: no trusted proxy configured, a peer that claims to forward for someone
    settings.TRUSTED_PROXIES = []
    request = RequestFactory().get("/", REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="203.0.113.1")
    # when / then
    assert client_ip_address(request) == "198.51.100.7"


def test_the_client_is_the_right_most_address_not_of_a_trusted_proxy(settings):
    from estatecrm.core.login_throttle import client_ip_address

    # given: a proxy chain 10.0.0.2 -> 127.0.0.1, and a client that forged a left-most entry
    settings.TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/8"]
    factory = RequestFactory()
    chain = factory.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.5, 10.0.0.2")
    untrusted_peer = factory.get("/", REMOTE_ADDR="203.0.113.6", HTTP_X_FORWARDED_FOR="10.0.0.9")
    garbage = factory.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="not-an-address, 10.0.0.2")
    no_header = factory.get("/", REMOTE_ADDR="127.0.0.1")
    # when / then
    assert client_ip_address(chain) == "203.0.113.5"
    assert client_ip_address(untrusted_peer) == "203.0.113.6"
    assert client_ip_address(garbage) == "10.0.0.2"
    assert client_ip_address(no_header) == "127.0.0.1"
