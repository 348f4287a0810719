"""`visitdesk --self-test` from the source tree against the test portal over TLS.

The same self-test runs against the built installer in `scripts/installer_smoke.py` (CI); here it
proves the checks themselves work and fail plainly.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures_portal import PortalPractice
from visitdesk.desktop.about import app_version
from visitdesk.desktop.app import parse_args
from visitdesk.desktop.self_test import PASSWORD_ENV

ROOT = Path(__file__).resolve().parents[2]


def self_test(
    practice: PortalPractice, *extra: str, password: str | None = None, role: str = "manager"
) -> subprocess.CompletedProcess[str]:
    staff = practice.staff[role]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop(PASSWORD_ENV, None)
    if password is not None:
        env[PASSWORD_ENV] = password
    command = [
        sys.executable, "-m", "visitdesk.desktop", "--self-test",
        "--portal", practice.base_url, "--ca-file", str(practice.ca_file),
        "--practice", practice.practice_code, "--username", staff.username, *extra,
    ]  # fmt: skip
    return subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=110, check=False
    )


def test_self_test_signs_in_syncs_and_renders_a_statement(practice, tmp_path: Path):
    report = tmp_path / "report.txt"
    done = self_test(practice, "--report", str(report), password=practice.staff["manager"].password)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"VisitDesk {app_version()} self-test (Python package")
    steps = [line.split()[1] for line in lines if line.startswith("ok   ")]
    assert steps == [
        "Qt", "keyring", "sign-in", "sync", "main", "statement", "statement", "sign-out"
    ]  # fmt: skip
    sync = next(line for line in lines if line.startswith("ok   sync"))
    assert f"{len(practice.patient_ids)} patients" in sync
    assert "statements rendered on a worker process" in done.stdout
    assert lines[-1].startswith("self-test passed in ")
    assert report.read_text(encoding="utf-8") == done.stdout
    # No patient data or secrets in what it prints.
    assert practice.staff["manager"].password not in done.stdout


def test_a_wrong_password_fails_with_one_plain_line(practice):
    done = self_test(practice, password="not-the-password")
    assert done.returncode == 1
    failure = done.stdout.splitlines()[-1]
    assert failure.startswith("self-test FAILED: sign-in and migrations: ")
    assert "Traceback" not in done.stdout + done.stderr


def test_a_ca_file_that_is_not_a_certificate_fails_plainly(practice, tmp_path: Path):
    wrong_ca = tmp_path / "other-ca.pem"
    wrong_ca.write_text("not a certificate\n", encoding="utf-8")
    done = self_test(practice, "--ca-file", str(wrong_ca), password="x")
    assert done.returncode == 1
    assert done.stdout.splitlines()[-1].startswith("self-test FAILED: sign-in and migrations: ")


def test_the_password_is_never_a_flag(practice):
    done = self_test(practice)
    assert done.returncode == 2
    assert f"--self-test needs a password in ${PASSWORD_ENV} or --password-file" in done.stderr


def test_the_password_may_come_from_a_file_and_the_time_limit_is_kept(practice, tmp_path: Path):
    secret = tmp_path / "password.txt"
    secret.write_text(practice.staff["manager"].password + "\n", encoding="utf-8")
    done = self_test(practice, "--password-file", str(secret), "--time-limit", "0.2")
    assert done.returncode == 2
    assert "self-test FAILED: not finished within its time limit of 0.2 s" in done.stdout


def test_the_installed_build_refuses_the_demo_plainly(monkeypatch, capsys):
    # The bundle carries no portal service, so --demo cannot start one.
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    with pytest.raises(SystemExit) as exited:
        parse_args(["--demo"])
    assert exited.value.code == 2
    assert "--demo needs VisitDesk installed from its Python package" in capsys.readouterr().err
