"""Fixtures of the registration-flow tests (defined in tests/patient_flows.py)."""

from tests.patient_flows import flows, flows_database, flows_portal, mailbox

__all__ = ["flows", "flows_database", "flows_portal", "mailbox"]
