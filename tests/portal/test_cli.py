"""The visitdesk-portal command line, run as a real subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures_portal import http_session
from tests.portal.helpers import wait_until

REPO = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "visitdesk.portal.web.cli", *args]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("VISITDESK_PORTAL_SECRET", None)
    return env


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _cli(*args), capture_output=True, text=True, env=_env(), cwd=REPO, timeout=120, check=False
    )


def test_seed_demo_json(tmp_path: Path) -> None:
    result = _run(
        "seed-demo", "--data-dir", str(tmp_path), "--patients", "60", "--json", "--seed", "7"
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {
        "practice_id",
        "practice_code",
        "practice_name",
        "staff",
        "patients",
        "demo_codes",
        "demo_people",
        "mail_drop_dir",
        "text_drop_dir",
    }
    assert data["demo_codes"] and all(len(c["code"]) == 14 for c in data["demo_codes"])
    assert data["mail_drop_dir"] == str(tmp_path.resolve() / "outbox-mail")
    assert data["practice_code"] == "demo"
    assert data["practice_name"] == "Maple Grove Family Medicine"
    assert sorted(s["role"] for s in data["staff"]) == ["billing", "front_desk", "manager"]
    assert all(set(s) == {"username", "password", "role", "name"} for s in data["staff"])
    assert len(data["patients"]) == 10
    assert all(set(p) == {"login", "password", "patient_ids"} for p in data["patients"])
    assert any(len(p["patient_ids"]) == 2 for p in data["patients"])

    again = _run("seed-demo", "--data-dir", str(tmp_path), "--patients", "60", "--json")
    assert again.returncode == 3
    assert "already exists" in again.stderr
    assert again.stdout == ""


def test_seed_demo_is_deterministic(tmp_path: Path) -> None:
    outputs = [
        _run(
            "seed-demo",
            "--data-dir",
            str(tmp_path / name),
            "--patients",
            "40",
            "--json",
            "--seed",
            "3",
        )
        for name in ("a", "b")
    ]
    assert outputs[0].returncode == outputs[1].returncode == 0
    seeded = [json.loads(output.stdout) for output in outputs]
    for data in seeded:
        # Security codes come from `secrets` even in the demo; the drops follow the data dir.
        for demo_code in data["demo_codes"]:
            assert len(demo_code.pop("code")) == 14
        del data["mail_drop_dir"], data["text_drop_dir"]
    assert seeded[0] == seeded[1]


def test_serve_with_ephemeral_port_and_ready_file(tmp_path: Path) -> None:
    ready = tmp_path / "run" / "ready.json"
    data_dir = tmp_path / "data"
    process = subprocess.Popen(
        _cli("serve", "--port", "0", "--data-dir", str(data_dir), "--ready-file", str(ready)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        cwd=REPO,
    )
    try:
        assert wait_until(lambda: ready.exists() or process.poll() is not None, timeout=60)
        assert process.poll() is None, process.communicate()[1]
        info = json.loads(ready.read_text())
        assert info["url"] == f"https://127.0.0.1:{info['port']}"
        assert Path(info["ca_file"]) == data_dir.resolve() / "tls" / "ca.pem"
        with http_session(info["ca_file"]) as http:
            response = http.get(f"{info['url']}/openapi.json", timeout=10)
        assert response.status_code == 200
        assert (data_dir / "secret.key").stat().st_mode & 0o777 == 0o600
        assert (data_dir / "tls" / "server-key.pem").stat().st_mode & 0o777 == 0o600
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            stdout, stderr = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
            pytest.fail("portal did not stop on SIGTERM")
    assert process.returncode == 0, stderr
    assert "ca.pem" in stdout
    assert not ready.exists()
    assert "?" not in "".join(line for line in stderr.splitlines() if "GET" in line)


def test_serve_takes_fake_cards_only_on_loopback_and_stripe_only_with_its_keys(
    tmp_path: Path,
) -> None:
    data_dir = str(tmp_path / "portal")
    fake = _run("serve", "--host", "0.0.0.0", "--data-dir", data_dir, "--payment-gateway", "test")
    assert fake.returncode == 2 and "loopback" in fake.stderr
    keyless = _run("serve", "--data-dir", data_dir, "--payment-gateway", "stripe")
    assert keyless.returncode == 2 and "Stripe secret key is not set" in keyless.stderr
    missing = _run(
        "serve",
        "--data-dir",
        data_dir,
        "--payment-gateway",
        "stripe",
        "--stripe-secret-key-file",
        str(tmp_path / "absent"),
    )
    assert missing.returncode == 2 and "cannot read the Stripe secret key file" in missing.stderr


def test_every_flag_of_every_subcommand_has_help() -> None:
    import argparse

    from visitdesk.portal.web.cli import _parser

    parser = _parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    parsers = {"visitdesk-portal": parser, **commands.choices}
    missing = [
        f"{name} {'/'.join(action.option_strings)}"
        for name, sub in parsers.items()
        for action in sub._actions
        if action.option_strings
        and not isinstance(action, argparse._HelpAction)
        and not (action.help and action.help.strip())
    ]
    assert missing == []
    assert set(commands.choices) == {
        "serve",
        "seed-demo",
        "simulate",
        "create-practice",
        "list-practices",
    }
    assert all(choice.help for choice in commands._choices_actions)


def test_create_practice_then_list_and_sign_in(tmp_path: Path) -> None:
    data_dir = str(tmp_path / "portal")
    password_file = tmp_path / "manager-password"
    password_file.write_text("lantern-orchard-29\n", encoding="utf-8")
    args = (
        "create-practice",
        "--data-dir",
        data_dir,
        "--code",
        "Riverside",
        "--name",
        "Riverside Pediatrics",
        "--timezone",
        "America/Chicago",
        "--manager-username",
        "ana",
        "--manager-name",
        "Ana Flores",
    )
    no_password = _run(*args)
    assert no_password.returncode == 2 and "--manager-password-file" in no_password.stderr
    created = _run(*args, "--manager-password-file", str(password_file))
    assert created.returncode == 0, created.stderr
    assert "lantern" not in created.stdout + created.stderr
    again = _run(*args, "--manager-password-file", str(password_file))
    assert again.returncode == 2 and "already exists" in again.stderr
    weak = tmp_path / "weak"
    weak.write_text("short", encoding="utf-8")
    refused = _run(*args[:4], "other", *args[5:], "--manager-password-file", str(weak))
    assert refused.returncode == 2 and "at least" in refused.stderr
    listed = _run("list-practices", "--data-dir", data_dir)
    assert listed.returncode == 0
    line = next(row for row in listed.stdout.splitlines() if row.startswith("riverside"))
    assert line.split()[1:4] == ["1", "1", "0"] and "Riverside Pediatrics" in line

    from visitdesk.portal.persistence.db import Database
    from visitdesk.portal.persistence.models import StaffUser

    db = Database.from_url(f"sqlite:///{tmp_path / 'portal' / 'portal.sqlite3'}")
    try:
        with db.read() as session:
            manager = session.query(StaffUser).one()
        assert (manager.username, manager.role, manager.active) == ("ana", "manager", True)
    finally:
        db.dispose()
