"""Fixtures: one real `kobiri-server` for the session, the generated bindings loaded from a
temporary copy, and a fresh tontine (with its people) for each test.

Needs `cargo build -p kobiri-server -p kobiri-mobile` beforehand (`.ci/bindings` does it).
"""

from __future__ import annotations

import gc
import itertools
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import kobiri_testkit as kit  # noqa: E402


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    srv = kit.Server(tmp_path_factory.mktemp("server"))
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def api(server) -> kit.Api:
    return kit.Api(server.url)


@pytest.fixture(scope="session")
def kobiri(tmp_path_factory):
    """The generated module `kobiri_mobile`, imported from a copy next to the library."""
    return kit.load_bindings(tmp_path_factory.mktemp("bindings"))


_circles = itertools.count(1)


@pytest.fixture
def circle(api, request) -> kit.Circle:
    """A fresh tontine per test (its users' e-mails carry the test's name)."""
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:30]
    return kit.make_circle(api, f"{name}-{next(_circles)}")


class Phones:
    """Opens phone databases in the test's temporary folder and closes them at the end."""

    def __init__(self, kobiri, server, tmp_path: Path):
        self.kobiri = kobiri
        self.server = server
        self.tmp_path = tmp_path
        self.opened = []

    def db(self, name: str) -> str:
        return str(self.tmp_path / f"{name}.db")

    def open(self, name: str, url: str | None = None):
        """`KobiriClient.open` on the phone database `name`, for `url` (default: the live
        server). Retries are short so that a dead address fails fast."""
        client = self.kobiri.KobiriClient.open(self.db(name), url or self.server.url)
        client.set_retry_policy(2, 20)
        self.opened.append(client)
        return client

    def close(self, client) -> None:
        """Drops the client (its database connection closes with it)."""
        self.opened.remove(client)
        del client
        gc.collect()

    def enrolled(self, name: str, user: kit.User, url: str | None = None):
        """A phone logged in as `user`, enrolled and pulled."""
        client = self.open(name, url)
        client.login(user.email, kit.PASSWORD)
        client.enroll_device(f"Téléphone de {user.first_name}", "android")
        client.pull()
        return client


@pytest.fixture
def phones(kobiri, server, tmp_path):
    p = Phones(kobiri, server, tmp_path)
    yield p
    p.opened.clear()
    gc.collect()
