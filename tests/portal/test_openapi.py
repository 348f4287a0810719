"""The OpenAPI schema."""

from __future__ import annotations

import requests

from visitdesk.portal.web.server import RunningPortal


def test_schema_lists_every_route_with_security(
    portal_server: RunningPortal, portal_http: requests.Session
) -> None:
    schema = portal_http.get(f"{portal_server.base_url}/openapi.json", timeout=10).json()
    paths = schema["paths"]
    expected = {
        ("/api/staff/v1/sessions", "post"),
        ("/api/staff/v1/sessions/refresh", "post"),
        ("/api/staff/v1/sessions/current", "delete"),
        ("/api/staff/v1/patients", "put"),
        ("/api/staff/v1/appointments", "put"),
        ("/api/staff/v1/changes", "get"),
        ("/api/staff/v1/checkins/{checkin_id}/status", "post"),
        ("/api/patient/v1/sessions", "post"),
        ("/api/patient/v1/patients", "get"),
        ("/api/patient/v1/appointments", "get"),
        ("/api/patient/v1/checkins", "post"),
    }
    present = {(path, method) for path, ops in paths.items() for method in ops}
    assert expected <= present

    schemes = schema["components"]["securitySchemes"]
    assert schemes["StaffBearer"] == {**schemes["StaffBearer"], "type": "http", "scheme": "bearer"}
    assert schemes["PatientBearer"]["scheme"] == "bearer"
    assert paths["/api/staff/v1/changes"]["get"]["security"] == [{"StaffBearer": []}]
    assert paths["/api/patient/v1/checkins"]["post"]["security"] == [{"PatientBearer": []}]
    assert "security" not in paths["/api/staff/v1/sessions"]["post"]

    put = paths["/api/staff/v1/patients"]["put"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in put["parameters"])
    ok = put["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok["$ref"].endswith("/UpsertResult")
    changes = paths["/api/staff/v1/changes"]["get"]["responses"]["200"]
    assert changes["content"]["application/json"]["schema"]["$ref"].endswith("/ChangesPage")
