"""Build the desktop installer bundle and prove the built program works against a real portal.

    python scripts/installer_smoke.py            # build with build_installer.spec, then test
    python scripts/installer_smoke.py --no-build # test the bundle already in dist/

1. Builds the one-folder bundle (`python -m PyInstaller build_installer.spec`).
2. Checks the bundle holds every data file the `visitdesk` package ships (icons, stylesheet,
   fonts, migrations ...) apart from the portal's, the desktop entry on Linux, the package
   metadata keyring and the About box read, and the Qt plugins the desk needs.
3. Seeds a small demo practice and serves it over TLS with the portal from this source tree.
4. Runs the BUILT program's `--self-test` against it (offscreen, temporary data directory, sign
   in, sync, main window, a statement rendered and printed, a statement run on a worker process).

Prints the bundle's size and the build and self-test times; exits non-zero on any failure, so a
module, plugin or data file the spec forgot breaks CI instead of a clinic.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PASSWORD_ENV = "VISITDESK_SELF_TEST_PASSWORD"  # noqa: S105 - a variable name
#: Package files that never go into the bundle (the portal is not part of the desk).
NOT_BUNDLED = ("portal/",)
PORTAL_START_S = 90.0


class SmokeFailed(Exception):
    pass


def bundle_paths(dist: Path) -> tuple[Path, Path, Path]:
    """(folder to measure, the program, the folder holding the package's files) per platform."""
    if sys.platform == "darwin":
        app = dist / "VisitDesk.app"
        return app, app / "Contents" / "MacOS" / "VisitDesk", app / "Contents" / "Resources"
    folder = dist / "VisitDesk"
    program = folder / ("VisitDesk.exe" if sys.platform == "win32" else "visitdesk")
    return folder, program, folder / "_internal"


def build(dist: Path, work: Path) -> float:
    started = time.perf_counter()
    command = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
               "--distpath", str(dist), "--workpath", str(work), str(ROOT / "build_installer.spec")]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, check=False)  # noqa: S603
    if done.returncode != 0:
        raise SmokeFailed(f"PyInstaller failed (exit {done.returncode})")
    return time.perf_counter() - started


def check_contents(folder: Path, internal: Path) -> list[str]:
    """Everything that must be in the bundle; returns what is missing."""
    missing: list[str] = []
    package = ROOT / "visitdesk"
    for path in package.rglob("*"):
        relative = path.relative_to(package).as_posix()
        if not path.is_file() or "__pycache__" in relative or relative.startswith(NOT_BUNDLED):
            continue
        in_migrations = "/migrations/" in f"/{relative}"
        if path.suffix in (".py", ".pyc") and not in_migrations:
            continue  # code lives in the frozen archive
        if not (internal / "visitdesk" / relative).is_file():
            missing.append(f"visitdesk/{relative}")
    # A source checkout may carry egg-info metadata instead of a dist-info; both serve.
    found = [*internal.glob("*.dist-info"), *internal.glob("*.egg-info")]
    metadata = {p.name.split("-")[0].split(".")[0].lower() for p in found}
    missing += [f"{name} metadata" for name in ("visitdesk", "keyring") if name not in metadata]
    keyring_info = next(internal.glob("keyring-*.dist-info"), None)
    if keyring_info is None or not (keyring_info / "entry_points.txt").is_file():
        missing.append("keyring's entry_points.txt")
    plugins = next((p for p in internal.rglob("plugins") if (p / "platforms").is_dir()), None)
    if plugins is None:
        missing.append("Qt plugins")
    else:
        wanted = ["platforms/*offscreen*", "imageformats/*svg*", "imageformats/*jpeg*",
                  "iconengines/*svg*"]  # fmt: skip
        if sys.platform != "darwin":  # macOS prints through Cocoa in the platform plugin
            wanted.append("printsupport/*")
        missing += [f"Qt plugin {w}" for w in wanted if not any(plugins.glob(w))]
    if sys.platform.startswith("linux"):
        for name in ("visitdesk.desktop", "visitdesk.png", "install-desktop-entry.sh"):
            if not (folder / name).is_file():
                missing.append(name)
    return missing


def check_desktop_entry(folder: Path, root: Path) -> None:
    """Linux: the bundle's install script puts a working menu entry and icon in a user's home."""
    home = root / "xdg-data"
    env = {**os.environ, "XDG_DATA_HOME": str(home)}
    done = subprocess.run(  # noqa: S603
        ["/bin/sh", str(folder / "install-desktop-entry.sh")],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SmokeFailed(f"install-desktop-entry.sh failed: {done.stderr.strip()}")
    entry = (home / "applications" / "visitdesk.desktop").read_text(encoding="utf-8")
    if f'Exec="{folder.resolve() / "visitdesk"}"' not in entry.splitlines():
        raise SmokeFailed("the installed desktop entry does not start this bundle")
    if not (home / "icons" / "hicolor" / "256x256" / "apps" / "visitdesk.png").is_file():
        raise SmokeFailed("the desktop entry's icon was not installed")


def size_of(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


class Portal:
    """The portal from this source tree, seeded with a small demo practice, serving over TLS."""

    def __init__(self, root: Path, patients: int) -> None:
        self.root = root
        self.env = {**os.environ, "PYTHONPATH": str(ROOT)}
        data = root / "portal"
        seeded = subprocess.run(  # noqa: S603
            self._command("seed-demo", "--data-dir", str(data), "--patients", str(patients),
                          "--json"),
            env=self.env, capture_output=True, text=True, timeout=PORTAL_START_S, check=False,
        )  # fmt: skip
        if seeded.returncode != 0:
            raise SmokeFailed(f"seeding the portal failed:\n{seeded.stderr[-2000:]}")
        self.credentials: dict[str, Any] = json.loads(seeded.stdout)
        ready = root / "ready.json"
        self.log = (root / "portal.log").open("wb")
        self.process = subprocess.Popen(  # noqa: S603
            self._command("serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", str(data),
                          "--ready-file", str(ready)),
            env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + PORTAL_START_S
        pause = threading.Event()
        while not ready.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SmokeFailed("the portal did not start; see its log above")
            pause.wait(0.1)
        info = json.loads(ready.read_text(encoding="utf-8"))
        self.url, self.ca_file = str(info["url"]), str(info["ca_file"])

    @staticmethod
    def _command(*args: str) -> list[str]:
        return [sys.executable, "-m", "visitdesk.portal", *args]

    def staff(self, role: str) -> tuple[str, str]:
        found = next(s for s in self.credentials["staff"] if s["role"] == role)
        return str(found["username"]), str(found["password"])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.log.close()


def run_self_test(program: Path, portal: Portal, root: Path, time_limit: float) -> float:
    username, password = portal.staff("manager")
    report = root / "self-test.txt"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env[PASSWORD_ENV] = password
    command = [str(program), "--self-test", "--portal", portal.url, "--ca-file", portal.ca_file,
               "--practice", str(portal.credentials["practice_code"]), "--username", username,
               "--report", str(report), "--time-limit", str(time_limit)]  # fmt: skip
    started = time.perf_counter()
    try:
        done = subprocess.run(  # noqa: S603
            command, env=env, capture_output=True, text=True, timeout=time_limit + 30, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise SmokeFailed("the built program hung and ignored its own time limit") from exc
    elapsed = time.perf_counter() - started
    text = report.read_text(encoding="utf-8") if report.exists() else ""
    print(text, end="")
    if done.returncode != 0:
        if done.stderr.strip():
            print(done.stderr[-4000:], file=sys.stderr)
        raise SmokeFailed(f"the built program's self-test failed (exit {done.returncode})")
    if "frozen build" not in text.splitlines()[0]:
        raise SmokeFailed("the self-test did not run from the frozen build")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-build", action="store_true", help="test the bundle in --dist as is")
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    parser.add_argument("--work", type=Path, default=ROOT / "build")
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--time-limit", type=float, default=180.0)
    args = parser.parse_args(argv)
    folder, program, internal = bundle_paths(args.dist)
    root = Path(tempfile.mkdtemp(prefix="visitdesk-installer-smoke-"))
    portal: Portal | None = None
    try:
        if not args.no_build:
            print(f"building the bundle with {ROOT.name}/build_installer.spec ...", flush=True)
            print(f"built in {build(args.dist, args.work):.0f} s", flush=True)
        if not program.is_file():
            raise SmokeFailed(f"no program at {program}")
        missing = check_contents(folder, internal)
        if missing:
            raise SmokeFailed("missing from the bundle: " + ", ".join(missing))
        if sys.platform.startswith("linux"):
            check_desktop_entry(folder, root)
        size = size_of(folder)
        files = sum(1 for p in folder.rglob("*") if p.is_file())
        print(f"bundle {folder.name}: {size / 2**20:.0f} MiB in {files} files", flush=True)
        portal = Portal(root, args.patients)
        print(f"portal serving {args.patients} patients at {portal.url}", flush=True)
        elapsed = run_self_test(program, portal, root, args.time_limit)
        print(f"installer smoke test passed: built program's self-test took {elapsed:.1f} s")
        return 0
    except SmokeFailed as exc:
        if portal is not None and (root / "portal.log").exists():
            print((root / "portal.log").read_text(errors="replace")[-3000:], file=sys.stderr)
        print(f"installer smoke test FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        if portal is not None:
            portal.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
