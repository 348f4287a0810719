"""One desk of the fault run (bench/faults.py), as its own process so that it can be killed.

    python bench/faults_desk.py --store PATH --url URL --ca-file CA --practice CODE --username U

The password comes on the first line of stdin. The real desk parts run here: a PortalClient, a
LocalStore on SQLite and a SyncEngine with both workers. The driver then sends one JSON command
per line and reads one JSON answer per line:

- {"op": "status", "checkin": ID, "status": S}: change a check-in's status as the board does
  (optimistic row plus outbox item, one transaction). {"ok": true} once committed, or
  {"ok": false, "error": ...} when the store refused it (the desk tells the user; not an action).
- {"op": "disk", "full": bool, "read_only": bool}: make the store unwritable, or writable again.
- {"op": "state", "checkins": [ID, ...]}: outbox counts, feed position, engine status and the
  statuses shown for those check-ins.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.storefaults import StoreFaults  # noqa: E402
from visitdesk.api.wire import CheckInStatus  # noqa: E402
from visitdesk.desktop.models.errors import StoreUnavailableError  # noqa: E402
from visitdesk.desktop.models.store import LocalStore  # noqa: E402
from visitdesk.sync.client import PortalClient  # noqa: E402
from visitdesk.sync.credentials import MemoryTokenStore  # noqa: E402
from visitdesk.sync.engine import SyncEngine  # noqa: E402
from visitdesk.sync.errors import PortalError  # noqa: E402


def _sign_in(args: argparse.Namespace, password: str) -> PortalClient:
    client = PortalClient(
        args.url,
        ca_file=Path(args.ca_file),
        token_store=MemoryTokenStore(),
        timeout=(2.0, args.read_timeout),
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            client.sign_in(args.practice, args.username, password)
            return client
        except PortalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)  # a separate process with nothing else to do: waiting is the job


def _state(store: LocalStore, engine: SyncEngine, ids: list[str]) -> dict[str, Any]:
    shown = {}
    for checkin_id in ids:
        row = store.checkin(checkin_id)
        shown[checkin_id] = None if row is None else row.status.value
    status = engine.status
    return {
        "pending": store.outbox_pending_count(),
        "failed": len(store.failed_outbox_items()),
        "last_seq": store.last_seq(),
        "online": status.online,
        "auth_needed": status.auth_needed,
        "store_problem": status.store_problem,
        "checkins": shown,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--ca-file", required=True)
    parser.add_argument("--practice", required=True)
    parser.add_argument("--username", required=True)
    parser.add_argument("--read-timeout", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    password = sys.stdin.readline().strip()
    store = LocalStore.open(args.store)
    faults = StoreFaults(store)
    client = _sign_in(args, password)
    engine = SyncEngine(
        client,
        store,
        wait_seconds=1.0,
        backoff_base=0.05,
        backoff_max=1.0,
        rng=random.Random(args.seed),
    )
    engine.start()
    staff = client.staff
    name = staff.name if staff is not None else args.username
    print(json.dumps({"ready": True}), flush=True)
    try:
        for line in sys.stdin:
            command = json.loads(line)
            answer: dict[str, Any]
            if command["op"] == "status":
                try:
                    store.set_checkin_status(
                        command["checkin"], CheckInStatus(command["status"]), name
                    )
                    engine.kick()
                    answer = {"ok": True}
                except StoreUnavailableError as exc:
                    answer = {"ok": False, "error": str(exc)}
            elif command["op"] == "disk":
                faults.full = bool(command.get("full"))
                faults.read_only = bool(command.get("read_only"))
                answer = {"ok": True}
            elif command["op"] == "state":
                answer = _state(store, engine, command.get("checkins", []))
            else:
                answer = {"ok": False, "error": "unknown command"}
            print(json.dumps(answer), flush=True)
    finally:
        engine.stop()
        client.close()
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
