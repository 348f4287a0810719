"""A portal database written by the release before the portal was split into packages (d9b6e98).

`tests/portal/data/release-d9b6e98/` holds what that release's `visitdesk-portal seed-demo
--patients 20 --seed 9` left in its data directory: the database (gzipped), the token secret and
the demo sign-ins it printed (trimmed to the staff and two patient accounts). A portal of this
version starts on it, migrates it to its newest schema and serves its data to the same sign-ins.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

from alembic.script import ScriptDirectory

from tests.fixtures_portal import PortalFactory, http_session
from visitdesk.api.wire import PATIENT_PREFIX
from visitdesk.portal.persistence import migrate
from visitdesk.sync.client import PortalClient
from visitdesk.sync.credentials import MemoryTokenStore

RELEASE = Path(__file__).resolve().parent / "data" / "release-d9b6e98"


def _release_data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "portal-data"
    data.mkdir()
    with (
        gzip.open(RELEASE / "portal.sqlite3.gz") as packed,
        (data / "portal.sqlite3").open("wb") as out,
    ):
        shutil.copyfileobj(packed, out)
    shutil.copyfile(RELEASE / "secret.key", data / "secret.key")
    return data


def _revisions(path: Path) -> set[str]:
    with closing(sqlite3.connect(path)) as conn:
        return {row[0] for row in conn.execute("SELECT version_num FROM alembic_version")}


def test_release_database_is_migrated_and_served(
    tmp_path: Path, portal_factory: PortalFactory
) -> None:
    data = _release_data_dir(tmp_path)
    assert _revisions(data / "portal.sqlite3") == {"0001"}
    creds = json.loads((RELEASE / "credentials.json").read_text(encoding="utf-8"))

    portal = portal_factory.start(data_dir=data, secret_key=None)
    heads = set(ScriptDirectory.from_config(migrate.alembic_config()).get_heads())
    assert _revisions(data / "portal.sqlite3") == heads

    manager = next(s for s in creds["staff"] if s["role"] == "manager")
    client = PortalClient(portal.base_url, ca_file=portal.ca_file, token_store=MemoryTokenStore())
    try:
        tokens = client.sign_in(creds["practice_code"], manager["username"], manager["password"])
        assert tokens.practice.id == creds["practice_id"]
        assert tokens.staff.name == manager["name"]
        page = client.get_changes(0, 5000, 0)
        kinds = {item.kind for item in page.items}
        assert {"patient", "appointment", "ledger_line", "security_code"} <= kinds
        assert sum(item.kind == "patient" for item in page.items) == 20
    finally:
        client.close()

    patient = creds["patients"][0]
    with http_session(portal.ca_file) as http:
        signed_in = http.post(
            f"{portal.base_url}{PATIENT_PREFIX}/sessions",
            json={"login": patient["login"], "password": patient["password"]},
            timeout=10,
        )
        assert signed_in.status_code == 200
        token = signed_in.json()["access_token"]
        linked = http.get(
            f"{portal.base_url}{PATIENT_PREFIX}/patients",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
    assert linked.status_code == 200
    assert set(patient["patient_ids"]) <= {p["patient_id"] for p in linked.json()}
