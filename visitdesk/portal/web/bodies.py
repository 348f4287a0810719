"""Requests and responses: strict JSON, validation errors that echo nothing, security headers.

Every router of the portal uses :class:`PortalRoute`, which parses JSON strictly: ``NaN`` and
``Infinity`` are not JSON, and a lone UTF-16 surrogate or a NUL character in a string can be
neither stored (UTF-8, PostgreSQL text) nor printed, so each is refused with 422 before a model or
the database sees it. Body sizes use FastAPI's ``max_body_size``: the app's default is
:data:`DEFAULT_BODY_LIMIT`, and routes that anyone may call or that carry bulk data set their own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Most bytes of a request body a route reads unless it declares its own limit.
DEFAULT_BODY_LIMIT = 64 * 1024
#: Sign-in, registration and recovery: anyone may call them, so they read the least.
AUTH_BODY_LIMIT = 4 * 1024
#: Bulk upserts from the desk: up to MAX_UPSERT_BATCH records of a few hundred bytes each.
BULK_BODY_LIMIT = 8 * 1024 * 1024
#: How many field errors a 422 names; one is usually enough to fix a request.
_MAX_LISTED_ERRORS = 5


#: A JSON escape that may decode to NUL or to a UTF-16 surrogate. A false alarm (an escaped
#: backslash before "u0000") only costs the walk over the strings.
_RISKY_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")


def _refuse(message: str) -> NoReturn:
    # FastAPI turns a JSONDecodeError from Request.json() into a 422; its message is kept.
    raise json.JSONDecodeError(message, "", 0)


def _reject_constant(name: str) -> Any:
    _refuse(f"{name} is not a JSON number")


def _check_text(text: str) -> None:
    if "\x00" in text:
        _refuse("text may not contain NUL characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        _refuse("text contains an unpaired UTF-16 surrogate")


def _check_strings(value: Any) -> None:
    """Walk the parsed document without recursion (depth is the client's choice)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            _check_text(item)
        elif isinstance(item, dict):
            for key, child in item.items():
                _check_text(key)
                pending.append(child)
        elif isinstance(item, list):
            pending.extend(item)


def strict_json(raw: bytes) -> Any:
    """Parse a request body as JSON as RFC 8259 defines it, with text that can be stored."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        _refuse("the body is not UTF-8")
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        _refuse("the body is nested too deeply")
    # Valid UTF-8 holds neither surrogates nor (in JSON text) a raw NUL: both can only come from
    # a ``\u0000`` or ``\uD800``-``\uDFFF`` escape. Without one the walk over every string (most
    # of a bulk body) is skipped; other escapes (an accented name sent as ASCII) need no walk.
    if _RISKY_ESCAPE.search(text):
        _check_strings(document)
    return document


def validated_bulk(raw: bytes, model: type[BaseModel]) -> BaseModel | None:
    """A bulk body parsed and validated in one pass (pydantic's JSON parser, in Rust), or None
    when it needs the strict path: text that may hold NUL or a surrogate, or anything the model
    refuses (the strict path then names what is wrong, with the usual 422).

    The model's fields take no floats, so ``NaN`` or ``Infinity`` anywhere is refused by the
    model and the strict path answers for it."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if _RISKY_ESCAPE.search(text):
        return None
    try:
        return model.model_validate_json(raw)
    except ValidationError:
        return None


class _StrictJsonRequest(Request):
    #: The body model of a bulk route (see PortalRoute), validated as it is parsed.
    bulk_model: type[BaseModel] | None = None

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            raw = await self.body()
            fast = None if self.bulk_model is None else validated_bulk(raw, self.bulk_model)
            # A validated model passes FastAPI's own validation as it is (pydantic does not
            # validate an instance of the model again).
            self._json = fast if fast is not None else strict_json(raw)
        return self._json


class PortalRoute(APIRoute):
    """An APIRoute whose requests parse JSON strictly (see the module's docstring).

    A bulk route (one body model, ``max_body_size=BULK_BODY_LIMIT``) parses and validates its
    body in one pass: ``json.loads`` and then validating the Python objects cost the event
    loop's thread twice as much for a 5,000-line batch."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        bulk_model = self._bulk_model()

        async def strict_handler(request: Request) -> Response:
            strict = _StrictJsonRequest(request.scope, request.receive)
            strict.bulk_model = bulk_model
            return await handler(strict)

        return strict_handler

    def _bulk_model(self) -> type[BaseModel] | None:
        if self.max_body_size != BULK_BODY_LIMIT or self.body_field is None:
            return None
        annotation = self.body_field.field_info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return annotation
        return None


def validation_message(exc: RequestValidationError) -> str:
    """A 422 detail naming the fields and what is wrong, never the values sent."""
    parts: list[str] = []
    errors = exc.errors()
    for error in errors[:_MAX_LISTED_ERRORS]:
        if error.get("type") == "json_invalid":
            reason = (error.get("ctx") or {}).get("error", "")
            parts.append(f"the body is not valid JSON ({reason})" if reason else "not JSON")
            continue
        location = ".".join(str(part) for part in error.get("loc", ()))
        parts.append(f"{location}: {error.get('msg', 'invalid')}")
    more = len(errors) - _MAX_LISTED_ERRORS
    if more > 0:
        parts.append(f"and {more} more")
    return "Invalid request: " + "; ".join(parts)


def document_errors_as_error_body(schema: dict[str, Any]) -> dict[str, Any]:
    """Point every 422 in the schema at ErrorBody, which is what the portal returns."""
    components = schema.get("components", {}).get("schemas", {})
    error_ref = "#/components/schemas/ErrorBody"
    if "ErrorBody" not in components:
        components["ErrorBody"] = {
            "title": "ErrorBody",
            "type": "object",
            "properties": {"detail": {"title": "Detail", "type": "string"}},
            "required": ["detail"],
        }
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if "requestBody" in operation:
                # Every body has a size limit (the route's own or DEFAULT_BODY_LIMIT); a route
                # that lists 413 itself is refused in plain text by the server all the same.
                too_large = operation.setdefault("responses", {}).setdefault(
                    "413",
                    {
                        "description": "The body is larger than this call accepts (JSON "
                        "when the route refuses it, plain text when the server stops reading)",
                    },
                )
                content = too_large.setdefault("content", {})
                content.setdefault("application/json", {"schema": {"$ref": error_ref}})
                content.setdefault("text/plain", {"schema": {"type": "string"}})
            response = operation.get("responses", {}).get("422")
            if response is None:
                continue
            response["description"] = "The request is not valid"
            response["content"] = {"application/json": {"schema": {"$ref": error_ref}}}
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    return schema


#: On every response: API answers hold patient data and tokens, so no cache may keep them; the
#: portal is only ever served over HTTPS, so browsers should never try plain HTTP.
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
)


class SecurityHeaders:
    """Pure ASGI middleware (long-polls stream through untouched) adding SECURITY_HEADERS."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in SECURITY_HEADERS if n not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
