#!/usr/bin/env python3
"""Runs a command against a fresh, real kobiri-server with a tontine ready for a collector.

    python3 bindings/python/tests/with_server.py [--expect-payments N] -- COMMAND [ARG...]

Starts `target/debug/kobiri-server serve` on a free port with a SQLite database in a
temporary folder, creates a circle (see kobiri_testkit.make_circle), then runs COMMAND with
these arguments appended:

    --server URL --login COLLECTOR_EMAIL --password PASSWORD
    --tontine TONTINE_ID --session OPEN_SESSION_ID --member MEMBER_ID

(the member is Awa, a plain member). With --expect-payments N, it then checks over REST that
the tontine holds exactly N payments, all recorded by the collector from an enrolled device.
Exits with the command's status (or 1 if that check fails). Used for the Kotlin program.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import kobiri_testkit as kit  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--expect-payments", type=int, default=None)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given (put it after --)")

    with tempfile.TemporaryDirectory(prefix="kobiri-server-") as tmp:
        server = kit.Server(Path(tmp))
        try:
            api = kit.Api(server.url)
            circle = kit.make_circle(api, "kotlin")
            extra = [
                "--server", server.url,
                "--login", circle.collector.email,
                "--password", kit.PASSWORD,
                "--tontine", circle.id,
                "--session", circle.session_id,
                "--member", circle.member_id(circle.members[0]),
            ]
            print(f"with_server: kobiri-server on {server.url}, tontine {circle.id}", flush=True)
            status = subprocess.call(command + extra)
            if status != 0 or args.expect_payments is None:
                return status
            return check_payments(api, circle, args.expect_payments)
        except BaseException:
            print(f"with_server: server log tail:\n{server.log_tail()}", file=sys.stderr)
            raise
        finally:
            server.stop()


def check_payments(api: kit.Api, circle: kit.Circle, expected: int) -> int:
    listed = api.get(f"/api/v1/payments?tontine_id={circle.id}&page_size=100", circle.treasurer.access)
    devices = {d["device_id"] for d in api.get("/api/v1/devices", circle.collector.access)}
    problems = []
    if listed["total"] != expected:
        problems.append(f"{listed['total']} payments on the server, expected {expected}")
    for p in listed["items"]:
        if p["recorded_by_id"] != circle.collector.id or p["device_id"] not in devices:
            problems.append(f"payment {p['id']} not recorded by the collector's device: {p}")
        if p["method"] != "especes" or not p["receipt_code"]:
            problems.append(f"payment {p['id']} is not a cash payment with a receipt: {p}")
    if problems:
        for problem in problems:
            print(f"with_server: FAIL - {problem}", file=sys.stderr)
        return 1
    receipts = ", ".join(p["receipt_code"] for p in listed["items"])
    print(f"with_server: ok - the server holds {expected} payment(s) from the phone ({receipts})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
