"""Fixtures of the integration tests."""

from tests.integration.desks import workstations
from tests.patient_flows import flows, flows_database, flows_portal, mailbox

__all__ = ["flows", "flows_database", "flows_portal", "mailbox", "workstations"]
