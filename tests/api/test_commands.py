"""The catalogue of staff commands: its id check, and the portal serving exactly its entries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fixtures_portal import portal_test_config
from visitdesk.api.commands import (
    LIST_SECURITY_CODES,
    MATCH_REGISTRATION,
    SET_CHECKIN_STATUS,
    SIGN_OUT,
    STAFF_COMMANDS,
    UPSERT_PATIENTS,
    StaffCommand,
    check_id,
    command_named,
)
from visitdesk.api.wire import STAFF_PREFIX, CheckInStatus, CheckInStatusUpdate
from visitdesk.portal.web.app import create_app


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    app = create_app(portal_test_config(tmp_path_factory.mktemp("catalogue")))
    return app.openapi()


def _ref(schema: dict[str, Any] | None) -> str | None:
    if schema is None:
        return None
    if schema.get("type") == "array":
        return f"list[{_ref(schema['items'])}]"
    return str(schema["$ref"]).rsplit("/", 1)[-1]


def _name(model: Any) -> str | None:
    if model is None:
        return None
    args = getattr(model, "__args__", None)
    if args:  # list[Model]
        return f"list[{args[0].__name__}]"
    return str(model.__name__)


def _served(openapi: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): operation
        for path, operations in openapi["paths"].items()
        if path.startswith(f"{STAFF_PREFIX}/")
        for method, operation in operations.items()
    }


def test_the_portal_serves_exactly_the_catalogue(openapi: dict[str, Any]) -> None:
    served = _served(openapi)
    expected = {(c.method, STAFF_PREFIX + c.path) for c in STAFF_COMMANDS.values()}
    assert set(served) == expected


@pytest.mark.parametrize("command", list(STAFF_COMMANDS.values()), ids=lambda c: c.name)
def test_each_route_takes_and_answers_the_catalogue_models(
    openapi: dict[str, Any], command: StaffCommand[Any]
) -> None:
    operation = _served(openapi)[(command.method, STAFF_PREFIX + command.path)]
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    assert _ref(body.get("schema")) == _name(command.body)
    ((status, answer),) = [(k, v) for k, v in operation["responses"].items() if k.startswith("2")]
    if command.response is bytes:
        # A file, not JSON: its content types are documented instead of a model.
        assert status == "200" and answer["content"]
        assert "application/json" not in answer["content"]
    else:
        schema = answer.get("content", {}).get("application/json", {}).get("schema")
        assert _ref(schema) == _name(command.response)
    assert (status == "204") == (command.response is None)
    headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
    assert ("Idempotency-Key" in headers) == command.idempotent
    path_params = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
    assert path_params == set(command.params)


def test_names_are_unique_and_found() -> None:
    assert all(command_named(name).name == name for name in STAFF_COMMANDS)
    with pytest.raises(ValueError, match="unknown staff command"):
        command_named("delete_practice")


def test_paths_are_filled_with_checked_ids() -> None:
    assert SET_CHECKIN_STATUS.params == ("checkin_id",)
    assert SET_CHECKIN_STATUS.url_path({"checkin_id": "C-1"}) == (
        f"{STAFF_PREFIX}/checkins/C-1/status"
    )
    assert UPSERT_PATIENTS.url_path() == f"{STAFF_PREFIX}/patients"
    with pytest.raises(ValueError, match="path parameters"):
        MATCH_REGISTRATION.url_path({"registration_id": "r1", "more": "x"})
    with pytest.raises(ValueError, match="path parameters"):
        MATCH_REGISTRATION.url_path()


@pytest.mark.parametrize(
    "value",
    ["", ".", "..", "a/b", "a?b", "a#b", "a%2Fb", "a&b", "a=b", "a\\b", "a b", "a\tb", "x" * 65],
)
def test_check_id_refuses_anything_that_changes_a_url(value: str) -> None:
    with pytest.raises(ValueError, match="Not a valid record id"):
        check_id(value)


def test_check_id_accepts_the_portals_ids() -> None:
    for value in ("3f2b8c1e-8d4a-4c55-9a53-2b1f7c0e9d11", "C1", "r-old", "x" * 64):
        assert check_id(value) == value


def test_bodies_must_be_the_command_model() -> None:
    update = CheckInStatusUpdate(status=CheckInStatus.ROOMED)  # type: ignore[arg-type]
    assert SET_CHECKIN_STATUS.dump_body(update) == {"status": "roomed"}
    with pytest.raises(TypeError):
        SET_CHECKIN_STATUS.dump_body(None)
    with pytest.raises(ValueError, match="takes no body"):
        LIST_SECURITY_CODES.dump_body(update)
    assert SIGN_OUT.response is None and not LIST_SECURITY_CODES.mutating


def test_the_api_package_has_no_other_dependency_of_ours() -> None:
    # The import-linter contract enforces this in CI; here it is checked on the files themselves.
    root = Path(__file__).resolve().parents[2] / "visitdesk" / "api"
    for path in root.glob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith(("from visitdesk", "import visitdesk")):
                assert line.startswith("from visitdesk.api"), f"{path.name}: {line}"
