"""Test kit for the bindings: a real `kobiri-server` process, a small JSON client for the
REST API (standard library only), the data a collector works with (a "circle": a tontine
with its president, treasurer, collector and two members, five sessions, the first open),
and the generated Python module loaded next to a copy of the native library.

Used by `conftest.py` (pytest) and by `with_server.py` (the Kotlin program's server).
"""

from __future__ import annotations

import datetime
import importlib.util
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

# bindings/python/tests/kobiri_testkit.py -> the workspace root.
ROOT = Path(__file__).resolve().parents[3]
# Cargo's target folder (CARGO_TARGET_DIR when set, like cargo itself).
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
if not TARGET.is_absolute():
    TARGET = ROOT / TARGET
SERVER_BIN = TARGET / "debug" / "kobiri-server"
LIBRARY = TARGET / "debug" / ("libkobiri_mobile.dylib" if sys.platform == "darwin" else "libkobiri_mobile.so")
GENERATED_PY = ROOT / "bindings" / "python" / "kobiri_mobile.py"

# The server's password policy: 8+ characters with upper case, lower case and a digit.
PASSWORD = "Tontine2026"


def free_port() -> int:
    """A TCP port nobody listens on right now (also used as a dead server address)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dead_url() -> str:
    """An http:// address where nothing answers (connection refused)."""
    return f"http://127.0.0.1:{free_port()}"


def _die_with_parent() -> None:
    """In the server's process, before exec: on Linux, ask for SIGTERM when the test process
    dies, so that a killed test run leaves no server behind."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class ApiError(AssertionError):
    """An HTTP answer other than the one expected (with the server's body)."""


class Api:
    """A JSON client for the REST API, on urllib."""

    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, path: str, token: str | None = None, body=None):
        """(status, parsed JSON body or None, raw text)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base_url + path, data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        text = raw.decode("utf-8", "replace")
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = None
        return status, parsed, text

    def call(self, method: str, path: str, token: str | None = None, body=None, expect: int = 200):
        """The JSON body of an answer with status `expect`; raises ApiError otherwise."""
        status, parsed, text = self.request(method, path, token, body)
        if status != expect:
            raise ApiError(f"{method} {path}: expected {expect}, got {status}: {text}")
        return parsed

    def get(self, path: str, token: str | None = None, expect: int = 200):
        return self.call("GET", path, token, None, expect)

    def post(self, path: str, token: str | None = None, body=None, expect: int = 200):
        return self.call("POST", path, token, {} if body is None else body, expect)

    def delete(self, path: str, token: str | None = None, expect: int = 200):
        return self.call("DELETE", path, token, None, expect)


class Server:
    """`kobiri-server serve` on 127.0.0.1, a fresh SQLite database in `workdir`."""

    def __init__(self, workdir: Path, binary: Path = SERVER_BIN):
        if not binary.exists():
            raise RuntimeError(
                f"{binary} is missing: run `cargo build -p kobiri-server -p kobiri-mobile` first"
            )
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.workdir / "server.out"
        env = {
            # Only what the server needs: no .env of the developer's (the server reads
            # `.env` from its working directory, here `workdir`).
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DATABASE_URL": f"sqlite://{self.workdir / 'k.db'}",
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "ENVIRONMENT": "test",
            "SECRET_KEY": "bindings-tests-secret-key-of-at-least-32-characters",
            "LOG_DIR": str(self.workdir / "logs"),
            "LOG_LEVEL": "warn",
            # Tests register and log in many times from one address: no 429s.
            "RATE_LIMIT_REGISTER_PER_IP": "100000",
            "RATE_LIMIT_LOGIN_FAILURES_PER_IP": "100000",
            "RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT": "100000",
            "RATE_LIMIT_FORGOT_PER_IP": "100000",
            "RATE_LIMIT_FORGOT_PER_ACCOUNT": "100000",
            # Reads see writes at once; no background jobs moving data under the tests.
            "READ_CACHE_TTL_MS": "0",
            "JOBS_INTERVAL_SECONDS": "0",
        }
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [str(binary), "serve"],
            cwd=self.workdir,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        try:
            self._wait_healthy(timeout=60)
        except BaseException:
            self.stop()
            raise

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"kobiri-server exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"kobiri-server not healthy after {timeout} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


@dataclass
class User:
    id: str
    email: str
    phone: str
    first_name: str
    last_name: str
    access: str

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass
class Circle:
    """A tontine as `server/tests/api/payments.rs` `circle_named` builds it."""

    tontine: dict
    president: User
    treasurer: User
    collector: User
    members: list[User]
    # member id by user id
    member_ids: dict[str, str] = field(default_factory=dict)
    sessions: list[dict] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.tontine["id"]

    @property
    def session_id(self) -> str:
        """The first session, open (`en_cours`)."""
        return self.sessions[0]["id"]

    def member_id(self, user: User) -> str:
        return self.member_ids[user.id]


_phones = itertools.count(1)
_PHONE_BASE = int(time.time() * 10) % 1_000_000


def register(api: Api, tag: str, first_name: str, last_name: str = "Diop") -> User:
    """Registers an account (`POST /api/v1/auth/register`) and logs it in."""
    email = f"{tag}@example.sn"
    # Unique within a run, and across runs against the same server.
    phone = f"+22177{(_PHONE_BASE * 10 + next(_phones)) % 10_000_000:07d}"
    body = {
        "email": email,
        "phone": phone,
        "password": PASSWORD,
        "confirm_password": PASSWORD,
        "first_name": first_name,
        "last_name": last_name,
    }
    user = api.post("/api/v1/auth/register", body=body, expect=201)
    tokens = api.post("/api/v1/auth/login", body={"email": email, "password": PASSWORD})
    return User(user["id"], email, phone, first_name, last_name, tokens["access_token"])


def make_circle(api: Api, prefix: str) -> Circle:
    """President, treasurer (`tresorier`), collector (`collecteur`) and two members; a
    tontine of 5000 XOF a month starting today; five sessions, the first one open."""
    president = register(api, f"{prefix}-president", "Fatou", "Sow")
    treasurer = register(api, f"{prefix}-treasurer", "Ibrahima", "Fall")
    collector = register(api, f"{prefix}-collector", "Aminata", "Ba")
    members = [register(api, f"{prefix}-awa", "Awa", "Diop"), register(api, f"{prefix}-moussa", "Moussa", "Ndiaye")]
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    tontine = api.post(
        "/api/v1/tontines",
        president.access,
        {
            "name": f"Tontine du marché Sandaga {prefix}",
            "type": "rotative",
            "frequency": "mensuel",
            "contribution_amount": 5000,
            "start_date": today,
            "penalty_amount": "500",
            "max_members": 10,
            "min_members": 3,
        },
        expect=201,
    )
    tid = tontine["id"]
    member_ids = {}
    for user, role in [
        (treasurer, "tresorier"),
        (collector, "collecteur"),
        (members[0], "membre"),
        (members[1], "membre"),
    ]:
        # Adding an existing account invites it (202); the person accepts.
        invitation = api.post(
            f"/api/v1/tontines/{tid}/members",
            president.access,
            {"user_id": user.id, "role": role},
            expect=202,
        )
        m = api.post(f"/api/v1/invitations/{invitation['id']}/accept", user.access, {})
        member_ids[user.id] = m["id"]
    everyone = api.get(f"/api/v1/tontines/{tid}/members", president.access)
    member_ids[president.id] = next(m["id"] for m in everyone if m["role"] == "president")
    sessions = api.post(
        f"/api/v1/sessions/generate/{tid}", president.access, {"count": 5}, expect=201
    )
    opened = api.post(f"/api/v1/sessions/{sessions[0]['id']}/open", treasurer.access, {})
    sessions[0] = opened
    return Circle(tontine, president, treasurer, collector, members, member_ids, sessions)


def load_bindings(dest: Path, library: Path = LIBRARY, module: Path = GENERATED_PY):
    """Copies the generated module and the native library into `dest` (the module loads the
    library from its own folder) and imports the copy."""
    if not library.exists():
        raise RuntimeError(f"{library} is missing: run `cargo build -p kobiri-mobile` first")
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(module, dest / module.name)
    shutil.copy2(library, dest / library.name)
    spec = importlib.util.spec_from_file_location("kobiri_mobile", dest / module.name)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["kobiri_mobile"] = mod
    spec.loader.exec_module(mod)
    return mod
