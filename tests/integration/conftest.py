"""Fixtures of the integration tests."""

from tests.integration.desks import workstations as workstations

__all__ = ["workstations"]
