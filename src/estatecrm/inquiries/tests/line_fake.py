"""A local fake of the LINE Messaging API (profiles and push messages) and the fixtures of the LINE tests.

The SDK is pointed at it through `LINE_API_BASE_URL`; it answers as LINE documents (JSON bodies,
`X-Line-Retry-Key` accepted once: the same key again is a 409) and records every request. Nothing
calls the internet. Test modules import the fixtures they use.
"""

import base64
import hashlib
import hmac
import json
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from estatecrm.inquiries.models import LineChannel

CHANNEL_SECRET = "8c3f2b1e9d7a4c6b5e0f1a2b3c4d5e6f"
ACCESS_TOKEN = "fake-channel-access-token"
USER_ID = "U" + "4af4980629" * 3 + "1a2b"


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict
    body: dict | None


@dataclass
class FakeLine:
    """What the fake answers: `profiles` by user id (others: 404), `push_status` (200 or an error), and
    every request it received."""

    base_url: str = ""
    profiles: dict = field(default_factory=dict)
    push_status: int = 200
    accepted_retry_keys: set = field(default_factory=set)
    requests: list = field(default_factory=list)

    def pushes(self) -> list[Recorded]:
        return [request for request in self.requests if request.path == "/v2/bot/message/push"]


def make_handler(fake: FakeLine):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format, *args):  # quiet in test output
            pass

        def answer(self, status: int, body: dict, headers: dict | None = None):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def record(self) -> Recorded:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            recorded = Recorded(self.command, self.path, {name.lower(): value for name, value in self.headers.items()},
                                json.loads(raw) if raw else None)
            fake.requests.append(recorded)
            return recorded

        def authorized(self, recorded: Recorded) -> bool:
            if recorded.headers.get("authorization") != f"Bearer {ACCESS_TOKEN}":
                self.answer(401, {"message": "Authentication failed. Confirm that the access token in the authorization header is valid."})
                return False
            return True

        def do_GET(self):
            recorded = self.record()
            if not self.authorized(recorded):
                return
            prefix = "/v2/bot/profile/"
            user_id = self.path.removeprefix(prefix) if self.path.startswith(prefix) else None
            if user_id in fake.profiles:
                self.answer(200, {"userId": user_id, "displayName": fake.profiles[user_id], "language": "ja"})
            else:
                self.answer(404, {"message": "Not found"})

        def do_POST(self):
            recorded = self.record()
            if self.path != "/v2/bot/message/push":
                self.answer(404, {"message": "Not found"})
                return
            if not self.authorized(recorded):
                return
            key = recorded.headers.get("x-line-retry-key")
            if key and key in fake.accepted_retry_keys:
                self.answer(409, {"message": "The retry key is already accepted", "sentMessages": [{"id": "1", "quoteToken": "q"}]},
                            {"x-line-accepted-request-id": "accepted-1"})
                return
            if fake.push_status != 200:
                messages = {400: "The request body has 1 error(s)", 429: "You have reached your monthly limit.",
                            500: "Internal server error"}
                self.answer(fake.push_status, {"message": messages.get(fake.push_status, "Error")})
                return
            if key:
                fake.accepted_retry_keys.add(key)
            self.answer(200, {"sentMessages": [{"id": str(len(fake.pushes())), "quoteToken": "q"}]})

    return Handler


@contextmanager
def running_fake_line(settings):
    """The fake LINE API on a free local port, with the SDK pointed at it (`settings`: pytest-django's fixture)."""
    fake = FakeLine()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(fake))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    settings.LINE_API_BASE_URL = fake.base_url
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def fake_line(settings):
    with running_fake_line(settings) as fake:
        yield fake


@pytest.fixture
def line_channel(company, org, agent):
    return LineChannel.objects.create(company=company, channel_secret=CHANNEL_SECRET, channel_access_token=ACCESS_TOKEN,
                                      org_unit=org["SBY"], default_assignee=agent)


def sign(body: bytes, secret: str = CHANNEL_SECRET) -> str:
    """LINE's X-Line-Signature: base64 of the HMAC-SHA256 of the body with the channel secret."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def event(kind: str, event_id: str, *, user_id: str = USER_ID, timestamp: int = 1796000000000, **extra) -> dict:
    """A webhook event as LINE sends it."""
    return {"type": kind, "mode": "active", "timestamp": timestamp, "source": {"type": "user", "userId": user_id},
            "webhookEventId": event_id, "deliveryContext": {"isRedelivery": False}, **extra}


def text_message(event_id: str, text: str, **extra) -> dict:
    return event("message", event_id, replyToken="reply-" + event_id, message={"id": "m" + event_id, "type": "text", "text": text},
                 **extra)


def payload(*events: dict) -> bytes:
    return json.dumps({"destination": "Uc0ffee", "events": list(events)}, ensure_ascii=False).encode()
