"""What can go wrong talking to the portal, in types the desktop can act on.

Every error carries a `user_message` in plain words that the desktop can show as is. Messages never
contain PHI or tokens: they come from the portal's `detail` (which the portal keeps free of PHI) or
from fixed text here.
"""

from __future__ import annotations


class PortalError(Exception):
    """Base of every error the portal client raises."""

    user_message: str = "Something went wrong talking to the portal."

    def __init__(self, user_message: str | None = None) -> None:
        if user_message is not None:
            self.user_message = user_message
        super().__init__(self.user_message)


class PortalOffline(PortalError):
    """The portal could not be reached: connection refused or reset, timeout, name lookup failed."""

    user_message = (
        "The portal cannot be reached right now. Check the network connection; "
        "VisitDesk keeps your work and sends it when the portal is back."
    )


class PortalUntrusted(PortalError):
    """The portal's TLS certificate failed verification."""

    user_message = (
        "The portal's certificate is not trusted, so VisitDesk did not connect. "
        "Check that the portal's CA file configured for this workstation is the right one."
    )


class AuthExpired(PortalError):
    """The session is over (refresh failed or there is no refresh token): sign in again."""

    user_message = "Your session has ended. Please sign in again."


class Forbidden(PortalError):
    """403: the signed-in staff member's role does not allow this."""

    user_message = "Your role does not allow this action."


class NotFound(PortalError):
    """404: the record does not exist (or is not visible to this practice)."""

    user_message = "The portal could not find that record."


class PortalOutdated(PortalError):
    """404 or 405 for the request itself: the portal has no such route, so it runs a version older
    than this desk's. Sent again unchanged once the portal is upgraded, it goes through."""

    user_message = (
        "The portal runs an older version of VisitDesk that does not take this change yet. "
        "It is kept here: send it again once the portal has been upgraded."
    )


class Rejected(PortalError):
    """Any other 4xx: the portal refused the request; `message` is the portal's detail."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(f"The portal refused the request: {message}")


class SignInFailed(Rejected):
    """Sign-in refused (401): wrong practice, username or password."""


class PasswordChangeRequired(PortalError):
    """A manager reset the password: the portal allows nothing until a new one is chosen."""

    user_message = (
        "A manager reset your password. Choose a new password (at least 10 characters) and "
        "type it in both new password fields, then sign in."
    )


class BadResponse(PortalError):
    """The portal answered with something this version of VisitDesk does not understand."""

    user_message = (
        "The portal sent an answer VisitDesk does not understand. "
        "VisitDesk may need updating to match the portal."
    )


class RateLimited(PortalError):
    """429: too many requests; `retry_after` seconds (if the portal said) before trying again."""

    user_message = "The portal is busy. VisitDesk will try again shortly."

    def __init__(self, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__()


class ServerError(PortalError):
    """5xx: the portal failed; usually temporary."""

    user_message = "The portal had a problem. VisitDesk will try again shortly."

    def __init__(self, status: int = 500) -> None:
        self.status = status
        super().__init__()


_TRANSIENT = (PortalOffline, ServerError, RateLimited)

#: Refusals of a request itself (bad input, not allowed, no such record, gone, too large): the same
#: request fails again the same way, so sending it again is pointless.
_FINAL_STATUSES = frozenset({400, 401, 403, 404, 405, 410, 413, 415, 422})


def may_succeed_again(err: BaseException) -> bool:
    """For a change the portal did not take: can sending it unchanged later go through?

    A conflict (the record changed meanwhile) or an answer this version did not understand may;
    a permission, lookup or validation refusal will not.
    """
    if isinstance(err, (Forbidden, NotFound)):
        return False
    if isinstance(err, Rejected):
        return err.status not in _FINAL_STATUSES
    return True


def is_transient(err: BaseException) -> bool:
    """True when trying the same request again later may succeed.

    AuthExpired is not transient: it needs a person to sign in, so the push worker pauses on it
    rather than retrying or failing the item.
    """
    return isinstance(err, _TRANSIENT)
