"""Errors the portal's services raise; the app turns each into ``{"detail": "..."}`` JSON.

Services stay free of FastAPI; only :mod:`visitdesk.portal.web.app` knows how these become responses.
"""

from __future__ import annotations


class PortalError(Exception):
    status_code = 400

    def __init__(self, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}


class BadRequest(PortalError):
    status_code = 400


class Unauthorized(PortalError):
    status_code = 401

    def __init__(self, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail, {"WWW-Authenticate": "Bearer", **(headers or {})})


class Forbidden(PortalError):
    status_code = 403


class NotFound(PortalError):
    status_code = 404


class Conflict(PortalError):
    status_code = 409


class PayloadTooLarge(PortalError):
    status_code = 413


class UnsupportedMediaType(PortalError):
    status_code = 415


class UpgradeRequired(PortalError):
    status_code = 426


class Unprocessable(PortalError):
    status_code = 422


class TooLarge(PortalError):
    status_code = 413


class UnsupportedMedia(PortalError):
    status_code = 415


class TooManyAttempts(PortalError):
    status_code = 429

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, {"Retry-After": str(max(1, retry_after))})
        self.retry_after = retry_after


class Unavailable(PortalError):
    """A service the call depends on (mail server, text gateway) failed; retrying may work."""

    status_code = 503
