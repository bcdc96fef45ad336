"""A real IMAP server for the tests: Debian's dovecot, started once per test session.

`DovecotServer` writes a configuration into a fresh directory (a passwd-file with plain passwords,
maildirs, a self-signed certificate made with `openssl req`), listens on 127.0.0.1 on two free ports
of 14300-14399 (IMAP with STARTTLS, IMAPS) and runs `dovecot -F -c <conf>` as a child process.
Each test makes its own account (`add_account`), so tests never see each other's mail.

As root (here and in CI) dovecot runs its login processes as its own `dovenull` user and the mail
processes as `nobody`; as another user, everything runs as that user.
"""

import imaplib
import itertools
import os
import pwd
import secrets
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

DOVECOT = "/usr/sbin/dovecot"
PORTS = range(14300, 14400)
ACCOUNTS = 500
MISSING = f"dovecot is not installed ({DOVECOT}): apt-get install dovecot-imapd (.ci/run installs it). The IMAP tests need a real server."


@dataclass
class Account:
    user: str
    password: str


class DovecotServer:
    def __init__(self):
        self.directory = Path(tempfile.mkdtemp(prefix="estatecrm-dovecot-"))
        self.process: subprocess.Popen | None = None
        self.port = self.ssl_port = 0
        self.counter = itertools.count()
        self.accounts: list[Account] = []

    # -- files

    @property
    def passwd(self) -> Path:
        return self.directory / "passwd"

    @property
    def log(self) -> Path:
        return self.directory / "dovecot.log"

    @property
    def certificate(self) -> Path:
        return self.directory / "cert.pem"

    def write_files(self) -> None:
        # Dovecot's unprivileged processes must reach their files: the directory is not private.
        self.directory.chmod(0o755)
        mail = self.directory / "mail"
        mail.mkdir()
        if os.geteuid() == 0:
            mail_user = pwd.getpwnam("nobody")
            os.chown(mail, mail_user.pw_uid, mail_user.pw_gid)
            users = ""
        else:
            mail_user = pwd.getpwuid(os.geteuid())
            users = f"default_internal_user = {mail_user.pw_name}\ndefault_login_user = {mail_user.pw_name}\n"
        # Every account is written before dovecot starts: it reads a changed passwd-file at most once a second.
        self.accounts = [Account(user=f"office{number}", password=secrets.token_urlsafe(12)) for number in range(1, ACCOUNTS + 1)]
        self.passwd.write_text("".join(f"{account.user}:{{PLAIN}}{account.password}\n" for account in self.accounts))
        self.passwd.chmod(0o644)
        self.make_certificate()
        (self.directory / "dovecot.conf").write_text(f"""\
protocols = imap
listen = 127.0.0.1
base_dir = {self.directory}/run
state_dir = {self.directory}/state
log_path = {self.log}
{users}ssl = yes
ssl_cert = <{self.certificate}
ssl_key = <{self.directory}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:{mail}/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.passwd}
}}
userdb {{
  driver = static
  args = uid={mail_user.pw_uid} gid={mail_user.pw_gid} home={mail}/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.ssl_port}
  }}
}}
""")

    def make_certificate(self) -> None:
        if shutil.which("openssl") is None:
            raise RuntimeError("openssl is not installed: the IMAP tests make a self-signed certificate with `openssl req`.")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(self.directory / "key.pem"),
                        "-out", str(self.certificate)], check=True, capture_output=True)

    # -- process

    def start(self) -> None:
        for _attempt in range(5):
            self.port, self.ssl_port = free_ports(2)
            if self.process is None:
                self.write_files()
            else:
                self.write_config_ports()
            self.process = subprocess.Popen([DOVECOT, "-F", "-c", str(self.directory / "dovecot.conf")], stdout=subprocess.DEVNULL,
                                            stderr=subprocess.PIPE)
            if self.wait_until_listening():
                return
            self.stop_process()
        raise RuntimeError(f"dovecot did not start: {self.tail()}")

    def write_config_ports(self) -> None:
        conf = self.directory / "dovecot.conf"
        text = conf.read_text().split("service imap-login {")[0]
        conf.write_text(text + f"service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {self.port}\n  }}\n"
                               f"  inet_listener imaps {{\n    address = 127.0.0.1\n    port = {self.ssl_port}\n  }}\n}}\n")

    def wait_until_listening(self, timeout: float = 20) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as connection:
                    if connection.recv(100).startswith(b"* OK"):
                        return True
            except OSError:
                pass
            time.sleep(0.1)
        return False

    def stop_process(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def stop(self) -> None:
        self.stop_process()
        shutil.rmtree(self.directory, ignore_errors=True)

    def tail(self) -> str:
        stderr = self.process.stderr.read().decode(errors="replace") if self.process and self.process.stderr and self.process.poll() is not None else ""
        log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
        return (stderr + "\n" + log).strip()

    # -- accounts and mail

    def add_account(self) -> Account:
        """An account nobody used yet: its INBOX is empty."""
        try:
            return self.accounts[next(self.counter)]
        except IndexError:
            raise RuntimeError(f"the test session used all {ACCOUNTS} IMAP accounts: raise dovecot.ACCOUNTS") from None

    def client(self, account: Account) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        client.login(account.user, account.password)
        return client

    def append(self, account: Account, raw: bytes, folder: str = "INBOX") -> int:
        """Deliver a mail the way a mail client files one: IMAP APPEND. Returns its UID."""
        return self.append_many(account, [raw], folder)[0]

    def append_many(self, account: Account, mails: list[bytes], folder: str = "INBOX") -> list[int]:
        client = self.client(account)
        try:
            uids = []
            for raw in mails:
                status, data = client.append(folder, None, None, raw)
                assert status == "OK", data
                # [APPENDUID <uidvalidity> <uid>] (UIDPLUS)
                uids.append(int(data[0].split(b"APPENDUID ")[1].split(b"]")[0].split()[1]))
            return uids
        finally:
            client.logout()

    def flags(self, account: Account, folder: str = "INBOX") -> dict[int, set[str]]:
        """UID -> flags of every mail in the folder (read-only: looking changes nothing)."""
        client = self.client(account)
        try:
            status, _data = client.select(folder, readonly=True)
            assert status == "OK"
            status, data = client.uid("FETCH", "1:*", "(FLAGS)")
            found = {}
            for line in data:
                if not line:
                    continue
                text = line.decode()
                uid = int(text.split("UID ")[1].split()[0].rstrip(")"))
                found[uid] = set(text.split("FLAGS (")[1].split(")")[0].split())
            return found
        finally:
            client.logout()

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.certificate))


def free_ports(count: int) -> list[int]:
    """Ports of 14300-14399 nobody listens on now (a random start, so parallel sessions rarely meet)."""
    start = secrets.randbelow(len(PORTS))
    found = []
    for offset in range(len(PORTS)):
        port = PORTS[(start + offset) % len(PORTS)]
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        found.append(port)
        if len(found) == count:
            return found
    raise RuntimeError("no free port in 14300-14399 for dovecot")


def start_dovecot() -> DovecotServer:
    server = DovecotServer()
    try:
        server.start()
    except Exception:
        server.stop()
        raise
    return server


@pytest.fixture(scope="session")
def dovecot():
    """One dovecot for the test session (IMAP with STARTTLS on `port`, IMAPS on `ssl_port`). Fails, never
    skips, when dovecot is missing: the IMAP fetch must be tested against a real server."""
    if not os.access(DOVECOT, os.X_OK):
        pytest.fail(MISSING, pytrace=False)
    server = start_dovecot()
    yield server
    server.stop()
