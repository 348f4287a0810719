"""The embedded demo: a seeded portal on loopback over TLS plus a patient simulator, as child processes.

The portal runs in its own process so that serving the change feed never competes with the GUI
for the interpreter lock. Everything lives in a temporary directory removed when the demo stops.
"""

from __future__ import annotations

import ctypes
import json
import logging
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

log = logging.getLogger(__name__)

#: How long the demo portal may take to seed and start.
START_TIMEOUT_S = 90.0


class DemoError(RuntimeError):
    """The demo portal could not be started; the message is for the user."""


@dataclass
class DemoEnvironment:
    root: Path
    portal_url: str
    ca_file: Path
    credentials: dict[str, Any]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    log_file: BinaryIO | None = None

    @property
    def practice_code(self) -> str:
        return str(self.credentials["practice_code"])

    def staff_login(self, role: str = "front_desk") -> tuple[str, str]:
        for staff in self.credentials["staff"]:
            if staff["role"] == role:
                return str(staff["username"]), str(staff["password"])
        raise DemoError(f"the demo practice has no {role} user")

    def sign_in_details(self) -> str:
        """The demo's portal address, practice code and staff sign-ins, for the newcomer.

        The demo practice is made up and thrown away when the demo stops; its passwords are
        shown so that whoever tries it can sign in again (after the idle lock, as another role).
        """
        roles = {"front_desk": "Front desk", "billing": "Billing", "manager": "Office manager"}
        lines = [
            f"Portal address: {self.portal_url}",
            f"Practice code: {self.practice_code}",
            "Staff sign-ins (username / password):",
        ]
        for staff in self.credentials.get("staff", []):
            role = roles.get(str(staff["role"]), str(staff["role"]))
            lines.append(f"  {role}: {staff['username']} / {staff['password']}")
        return "\n".join(lines)

    def stop(self) -> None:
        """Stop the simulator and the portal, then remove the demo's files."""
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for process in reversed(self.processes):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        self.processes.clear()
        if self.log_file is not None:
            self.log_file.close()
            self.log_file = None
        shutil.rmtree(self.root, ignore_errors=True)


def _die_with_parent() -> None:
    """Runs in the child before exec: on Linux, ask the kernel to end it if the desk dies.

    The kernel sends the signal when the *thread* that started the child ends; the demo starts its
    children from the task runner's pool, whose threads live until the application exits.
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


_PR_SET_PDEATHSIG = 1


def _child_options() -> dict[str, Any]:
    return {"preexec_fn": _die_with_parent} if sys.platform.startswith("linux") else {}


def _portal_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "visitdesk.portal", *args]


def start_demo(
    patients: int = 5000, simulate: bool = True, interval: float = 8.0
) -> DemoEnvironment:
    """Seed a demo practice, serve it on an ephemeral loopback port and start the simulator."""
    root = Path(tempfile.mkdtemp(prefix="visitdesk-demo-"))
    portal_dir = root / "portal"
    env = DemoEnvironment(root, "", Path(), {})
    try:
        seeded = subprocess.run(  # noqa: S603 - our own interpreter and module
            _portal_command(
                "seed-demo", "--data-dir", str(portal_dir), "--patients", str(patients), "--json"
            ),
            capture_output=True,
            timeout=START_TIMEOUT_S,
            check=False,
        )
        if seeded.returncode != 0:
            log.error("Seeding the demo portal failed (exit %s)", seeded.returncode)
            raise DemoError("The demo practice could not be created. See the log for details.")
        env.credentials = json.loads(seeded.stdout)
        credentials_file = root / "demo-credentials.json"
        credentials_file.write_text(json.dumps(env.credentials), encoding="utf-8")
        credentials_file.chmod(0o600)

        ready = root / "portal-ready.json"
        log_file = env.log_file = (root / "portal.log").open("wb")
        env.processes.append(
            subprocess.Popen(  # noqa: S603
                _portal_command(
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--data-dir",
                    str(portal_dir),
                    "--ready-file",
                    str(ready),
                    # The demo's fake cards: a loopback demo is the only portal that takes them.
                    "--payment-gateway",
                    "test",
                ),
                stdout=log_file,
                stderr=subprocess.STDOUT,
                **_child_options(),
            )
        )
        info = _wait_for_ready(ready, env.processes[0])
        env.portal_url = str(info["url"])
        env.ca_file = Path(info["ca_file"])
        if simulate:
            env.processes.append(
                subprocess.Popen(  # noqa: S603
                    _portal_command(
                        "simulate",
                        "--url",
                        env.portal_url,
                        "--ca-file",
                        str(env.ca_file),
                        "--credentials",
                        str(credentials_file),
                        "--interval",
                        str(interval),
                    ),
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    **_child_options(),
                )
            )
        return env
    except BaseException:
        env.stop()
        raise


def _wait_for_ready(ready: Path, process: subprocess.Popen[bytes]) -> dict[str, Any]:
    deadline = time.monotonic() + START_TIMEOUT_S
    pause = threading.Event()
    while time.monotonic() < deadline:
        if ready.exists():
            data: dict[str, Any] = json.loads(ready.read_text(encoding="utf-8"))
            return data
        if process.poll() is not None:
            raise DemoError("The demo portal stopped while starting. See the log for details.")
        pause.wait(0.1)
    raise DemoError("The demo portal did not start within 90 seconds.")


def prepare_demo_desk(store: Any, practice_name: str, practice_phone: str, portal_url: str) -> None:
    """Fill in what an office would set up on day one, so every demo screen works at once.

    A real practice enters its remit-to address in Statement settings before its first run; the
    demo practice gets a made-up one.
    """
    from visitdesk.desktop.models import billing

    with store.write() as uow:
        settings = billing.load_settings(uow.session, practice_name, portal_url)
        if settings.ready:
            return
        settings.practice_address = ["1200 Orchard Lane, Suite 4", "Springfield, MA 01109"]
        settings.practice_phone = practice_phone
        settings.billing_phone = practice_phone
        settings.remit_to = [practice_name, "PO Box 4410", "Springfield, MA 01101-4410"]
        billing.save_settings(uow.session, settings)
