"""Staff routes declared from the catalogue of staff commands (`visitdesk.api.commands`).

A staff route takes its HTTP method, its path and its answer model from its catalogue entry, so
the portal serves exactly the calls the desk's client makes; tests/api/test_commands.py checks
that every entry is served and that each route's body model is the entry's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter

from visitdesk.api.commands import StaffCommand

F = TypeVar("F", bound=Callable[..., Any])


def staff_route(router: APIRouter, command: StaffCommand[Any], **options: Any) -> Callable[[F], F]:
    """`router.api_route` for `command` (the router is mounted under `STAFF_PREFIX`).

    A command answered with a file's bytes has no JSON answer model: its route sets its own
    `response_class`."""
    response_model = None if command.response is bytes else command.response
    return router.api_route(
        command.path, methods=[command.method], response_model=response_model, **options
    )
