"""The embedded demo: a seeded portal process over TLS, the patient simulator, and a clean stop."""

from __future__ import annotations

from visitdesk.desktop import session as sessions
from visitdesk.sync.credentials import MemoryTokenStore
from visitdesk.sync.engine import SyncEngine


def test_demo_portal_serves_tls_the_simulator_checks_patients_in_and_stop_cleans_up(
    qtbot, tmp_path
):
    from visitdesk.desktop.demo import start_demo

    demo = start_demo(patients=300, simulate=True, interval=0.5)
    try:
        assert demo.portal_url.startswith("https://127.0.0.1:")
        assert demo.practice_code == "demo"
        username, password = demo.staff_login("front_desk")
        opened = sessions.sign_in(
            tmp_path,
            demo.portal_url,
            demo.practice_code,
            username,
            password,
            demo.ca_file,
            MemoryTokenStore(),
        )
        engine = SyncEngine(opened.client, opened.store, wait_seconds=1)
        engine.start()
        try:
            qtbot.waitUntil(lambda: opened.store.patient_count() >= 300, timeout=30_000)
            qtbot.waitUntil(lambda: opened.store.checkin_count() >= 1, timeout=30_000)
        finally:
            engine.stop()
            opened.client.close()
            opened.store.close()
    finally:
        processes = list(demo.processes)
        demo.stop()
    assert all(process.poll() is not None for process in processes)
    assert not demo.root.exists()
