"""The staff API client: one object per signed-in workstation, shared by the sync threads.

TLS is always verified, against the portal's own CA file when one is configured or the system
store otherwise; environment variables (REQUESTS_CA_BUNDLE, proxies) are ignored on purpose so
they cannot quietly change whom we trust. The access token lives in memory only; the refresh token
goes to the TokenStore and is replaced there the moment the portal rotates it.
"""

from __future__ import annotations

import functools
import logging
import socket
import ssl
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import certifi
import requests
from pydantic import BaseModel, TypeAdapter, ValidationError

from visitdesk.api.commands import (
    CHANGE_OWN_PASSWORD,
    DOWNLOAD_ATTACHMENT,
    GET_CHANGES,
    LIST_COLLEAGUES,
    REFRESH_SESSION,
    SET_CHECKIN_STATUS,
    SIGN_IN,
    SIGN_OUT,
    UPSERT_APPOINTMENTS,
    UPSERT_PATIENTS,
    StaffCommand,
    command_named,
)
from visitdesk.api.wire import (
    FEED_LEVEL,
    FEED_LEVEL_HEADER,
    MAX_UPSERT_BATCH,
    OUTBOX_DEPTH_HEADER,
    AppointmentRecord,
    AppointmentUpsert,
    ChangesPage,
    CheckInOut,
    CheckInStatus,
    CheckInStatusUpdate,
    PatientRecord,
    PatientUpsert,
    PracticeInfo,
    RefreshRequest,
    SessionCreate,
    SessionTokens,
    StaffInfo,
    UpsertResult,
)
from visitdesk.api.wire_accounts import StaffPasswordChange
from visitdesk.api.wire_feed import read_page
from visitdesk.api.wire_messages import Colleague
from visitdesk.sync.credentials import TokenStore
from visitdesk.sync.errors import (
    AuthExpired,
    BadResponse,
    Forbidden,
    NotFound,
    PortalError,
    PortalOffline,
    PortalOutdated,
    PortalUntrusted,
    RateLimited,
    Rejected,
    ServerError,
    SignInFailed,
)

log = logging.getLogger(__name__)

Out = TypeVar("Out")

#: Extra seconds on top of a long-poll's `wait` before the read times out.
LONG_POLL_MARGIN = 10.0
#: Refresh the access token this long before it expires (at most a fifth of its lifetime).
EXPIRY_MARGIN = 30.0
#: Longest portal detail we pass on to the user.
MAX_DETAIL = 300


class PortalClient:
    """Talks to the staff API of one portal. Thread-safe: the pull and push workers share it."""

    def __init__(
        self,
        base_url: str,
        *,
        ca_file: Path | None,
        token_store: TokenStore,
        timeout: tuple[float, float] = (5.0, 35.0),
        workstation: str | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "https" or not parts.hostname:
            raise ValueError(
                "The portal address must start with https:// so that the connection is encrypted "
                f"(got {parts.scheme or 'no'} scheme)."
            )
        self.base_url = base_url.rstrip("/")
        #: Reports the outbox depth with each GET /changes when set (the composition root sets it).
        self.outbox_depth: Callable[[], int] | None = None
        self.ca_file = ca_file
        self._verify: str = str(ca_file) if ca_file is not None else certifi.where()
        self._token_store = token_store
        self._timeout = timeout
        #: Sent with every call so the portal's audit trail names the desk an action came from.
        self.workstation = (workstation if workstation is not None else socket.gethostname())[:64]

        self._local = threading.local()
        self._sessions: weakref.WeakSet[requests.Session] = weakref.WeakSet()
        self._sessions_lock = threading.Lock()

        # _state_lock guards the fields below; _refresh_lock serialises refreshes.
        self._state_lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self._access_token: str | None = None
        self._access_expires_at = 0.0  # time.monotonic()
        self._refresh_token: str | None = None
        self._generation = 0  # bumped on every new access token
        self._staff: StaffInfo | None = None
        self._practice: PracticeInfo | None = None

    # ------------------------------------------------------------------ properties

    @property
    def staff(self) -> StaffInfo | None:
        with self._state_lock:
            return self._staff

    @property
    def practice(self) -> PracticeInfo | None:
        with self._state_lock:
            return self._practice

    @property
    def signed_in(self) -> bool:
        """True while the client holds a session (it may still need to refresh its access token)."""
        with self._state_lock:
            return self._refresh_token is not None or self._access_token is not None

    # ------------------------------------------------------------------ sessions

    def sign_in(self, practice: str, username: str, password: str) -> SessionTokens:
        body = SessionCreate(practice=practice, username=username, password=password)
        resp = self._raw(SIGN_IN.method, SIGN_IN.url_path(), json=SIGN_IN.dump_body(body))
        if resp.status_code == 401:
            raise SignInFailed(401, _detail(resp) or "Wrong practice, username or password.")
        _raise_for_status(resp)
        tokens = _answer(resp, SIGN_IN)
        self._accept_tokens(tokens)
        log.info("Signed in to the portal")
        return tokens

    def change_password(self, current: str, new: str) -> None:
        """Change the signed-in staff member's own password; their other sessions end.

        Never retried or queued: it is not idempotent. A wrong current password or a new one
        the portal's rules refuse raise Rejected (422) with the portal's words; too many wrong
        current passwords raise Rejected (429) saying how long to wait.
        """
        command = CHANGE_OWN_PASSWORD
        body = command.dump_body(StaffPasswordChange(current_password=current, new_password=new))
        try:
            self._authed(command.method, command.url_path(), json=body)
        except RateLimited as exc:
            wait = f" Try again in {int(exc.retry_after)} seconds." if exc.retry_after else ""
            raise Rejected(429, f"Too many wrong current passwords.{wait}") from None
        log.info("Staff password changed")

    def resume(self) -> SessionTokens | None:
        """Continue the session whose refresh token is in the token store, if any.

        Returns None when there is no stored session or the portal no longer accepts it (sign in
        again). Raises PortalOffline and friends when the portal cannot be asked; the token is kept
        so the sync engine can finish the refresh once the portal is back.
        """
        stored = self._token_store.get()
        if not stored:
            return None
        with self._state_lock:
            self._refresh_token = stored
        try:
            return self.refresh()
        except AuthExpired:
            return None

    def refresh(self) -> SessionTokens:
        """Exchange the refresh token for a new access token and a new (rotated) refresh token."""
        with self._refresh_lock:
            return self._refresh_locked()

    def _refresh_locked(self) -> SessionTokens:
        with self._state_lock:
            refresh_token = self._refresh_token
        if refresh_token is None:
            refresh_token = self._token_store.get()
        if not refresh_token:
            raise AuthExpired()
        body = RefreshRequest(refresh_token=refresh_token)
        resp = self._raw(
            REFRESH_SESSION.method, REFRESH_SESSION.url_path(), json=REFRESH_SESSION.dump_body(body)
        )
        if resp.status_code in (400, 401, 403, 404, 422):
            log.info("The portal refused the refresh token; sign-in needed")
            self._forget_session()
            raise AuthExpired()
        _raise_for_status(resp)
        tokens = _answer(resp, REFRESH_SESSION)
        self._accept_tokens(tokens)
        log.debug("Access token refreshed")
        return tokens

    def sign_out(self) -> None:
        """End the session on the portal (best effort) and forget every token here."""
        with self._state_lock:
            refresh_token = self._refresh_token
            access_token = self._access_token
        if refresh_token is None:
            refresh_token = self._token_store.get()
        try:
            if refresh_token:
                # The portal treats sign-out as a mutating call: it wants an Idempotency-Key.
                headers = {"Idempotency-Key": str(uuid.uuid4())}
                if access_token:
                    headers["Authorization"] = f"Bearer {access_token}"
                body = SIGN_OUT.dump_body(RefreshRequest(refresh_token=refresh_token))
                resp = self._raw(SIGN_OUT.method, SIGN_OUT.url_path(), json=body, headers=headers)
                if resp.status_code >= 400 and resp.status_code != 401:
                    log.info("Sign-out answered %s", resp.status_code)
        except PortalError as exc:
            # Offline: the refresh token expires on the portal by itself; we still forget it here.
            log.info("Could not reach the portal to sign out (%s)", type(exc).__name__)
        finally:
            self._forget_session()
            with self._state_lock:
                self._staff = None
                self._practice = None

    def close(self) -> None:
        """Close pooled connections (tokens are kept; use sign_out to end the session)."""
        with self._sessions_lock:
            sessions = list(self._sessions)
        for session in sessions:
            session.close()

    # ------------------------------------------------------------------ staff API

    def call(
        self,
        command: StaffCommand[Out],
        params: Mapping[str, str] | None = None,
        body: BaseModel | None = None,
        *,
        query: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        timeout: tuple[float, float] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Out:
        """Make one catalogue call as the signed-in staff member; returns its parsed answer."""
        if command.response is bytes:
            raise ValueError(f"{command.name} answers with a file; download it instead")
        if command.idempotent and idempotency_key is None:
            raise ValueError(f"{command.name} needs an idempotency key")
        resp = self._authed(
            command.method,
            command.url_path(params),
            json=command.dump_body(body),
            params=dict(query) if query is not None else None,
            idempotency_key=idempotency_key,
            timeout=timeout,
            headers=headers,
        )
        return _answer(resp, command)

    def download(
        self, command: StaffCommand[bytes], params: Mapping[str, str], *, limit: int
    ) -> bytes:
        """A catalogue call answered with a file (an image): read a chunk at a time, refused as
        a bad answer beyond `limit` bytes."""
        if command.response is not bytes:
            raise ValueError(f"{command.name} is not answered with a file")
        resp = self._authed(
            command.method,
            command.url_path(params),
            headers={"Accept": "*/*"},
            stream=True,
        )
        try:
            data = bytearray()
            for chunk in resp.iter_content(64 * 1024):
                data += chunk
                if len(data) > limit:
                    log.warning("The answer to %s was larger than expected", command.name)
                    raise BadResponse()
            return bytes(data)
        except requests.exceptions.RequestException:
            raise PortalOffline() from None
        finally:
            resp.close()

    def _feed_headers(self) -> dict[str, str]:
        # This desk reads batch items; the portal's operators see how much is queued on desks (a
        # metric, no content).
        headers = {FEED_LEVEL_HEADER: str(FEED_LEVEL)}
        if self.outbox_depth is not None:
            headers[OUTBOX_DEPTH_HEADER] = str(self.outbox_depth())
        return headers

    def get_changes(self, after: int, limit: int, wait: float) -> ChangesPage:
        """One page of the change feed after `after`, waiting up to `wait` seconds for news."""
        read_timeout = max(self._timeout[1], wait + LONG_POLL_MARGIN)
        wait_param: int | float = int(wait) if float(wait).is_integer() else wait
        return self.call(
            GET_CHANGES,
            query={"after": after, "limit": limit, "wait": wait_param},
            timeout=(self._timeout[0], read_timeout),
            headers=self._feed_headers(),
        )

    def upsert_patients(
        self, records: Sequence[PatientRecord], idempotency_key: str
    ) -> UpsertResult:
        """Bulk upsert of practice records; batches larger than the portal's limit are split."""
        return self._upsert(
            UPSERT_PATIENTS, records, idempotency_key, lambda batch: PatientUpsert(patients=batch)
        )

    def upsert_appointments(
        self, records: Sequence[AppointmentRecord], idempotency_key: str
    ) -> UpsertResult:
        return self._upsert(
            UPSERT_APPOINTMENTS,
            records,
            idempotency_key,
            lambda batch: AppointmentUpsert(appointments=batch),
        )

    def _upsert(
        self,
        command: StaffCommand[UpsertResult],
        records: Sequence[Any],
        idempotency_key: str,
        wrap: Callable[[list[Any]], BaseModel],
    ) -> UpsertResult:
        created = updated = unchanged = 0
        batches = [
            list(records[i : i + MAX_UPSERT_BATCH])
            for i in range(0, len(records), MAX_UPSERT_BATCH)
        ] or [[]]
        for number, batch in enumerate(batches):
            # Each batch gets its own key derived from the caller's, so a retry of the whole
            # import replays exactly the batches already applied.
            key = idempotency_key if len(batches) <= 1 else f"{idempotency_key}.{number}"
            result = self.call(command, body=wrap(batch), idempotency_key=key)
            created += result.created
            updated += result.updated
            unchanged += result.unchanged
        return UpsertResult(created=created, updated=updated, unchanged=unchanged)

    def set_checkin_status(
        self, checkin_id: str, status: CheckInStatus | str, idempotency_key: str
    ) -> CheckInOut:
        body = CheckInStatusUpdate.model_validate({"status": CheckInStatus(status)})
        return self.call(
            SET_CHECKIN_STATUS,
            {"checkin_id": checkin_id},
            body,
            idempotency_key=idempotency_key,
        )

    def colleagues(self) -> list[Colleague]:
        """Staff a message thread can be assigned to."""
        return self.call(LIST_COLLEAGUES)

    def download_attachment(self, thread_id: str, attachment_id: str, destination: Path) -> int:
        """Stream an attachment into ``destination`` (written whole or not at all); its size."""
        resp = self._authed(
            DOWNLOAD_ATTACHMENT.method,
            DOWNLOAD_ATTACHMENT.url_path({"thread_id": thread_id, "attachment_id": attachment_id}),
            stream=True,
        )
        partial = destination.with_name(destination.name + ".part")
        size = 0
        try:
            with resp, partial.open("wb") as out:
                for piece in resp.iter_content(64 * 1024):
                    out.write(piece)
                    size += len(piece)
            partial.replace(destination)
        finally:
            partial.unlink(missing_ok=True)
        return size

    def send(
        self,
        command_name: str,
        params: Mapping[str, str],
        body: dict[str, Any] | None,
        idempotency_key: str,
        body_json: str | None = None,
    ) -> Any:
        """Replay a stored outbox command (its body already dumped); returns the parsed JSON.
        `body_json`, when given, is the body's JSON text, sent as it is (`body` is then not
        read, and the push line leaves it None for a bulk batch).

        Only idempotent, mutating commands are replayed: they are the only ones the portal
        applies once however often they arrive."""
        command = command_named(command_name)
        if not (command.mutating and command.idempotent):
            raise ValueError(f"{command.name} is not a command the outbox may send")
        if body_json is not None:
            resp = self._authed(
                command.method,
                command.url_path(params),
                data=body_json.encode("utf-8"),
                headers={"Content-Type": "application/json"},
                idempotency_key=idempotency_key,
            )
        else:
            resp = self._authed(
                command.method, command.url_path(params), json=body, idempotency_key=idempotency_key
            )
        if resp.status_code == 204 or not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            return None

    # ------------------------------------------------------------------ plumbing

    def _accept_tokens(self, tokens: SessionTokens) -> None:
        # The new refresh token goes to the store first: once the portal has rotated, the old one
        # is dead, and losing the new one means signing in again.
        self._token_store.set(tokens.refresh_token)
        lifetime = max(0.0, float(tokens.expires_in))
        margin = min(EXPIRY_MARGIN, lifetime / 5)
        with self._state_lock:
            self._refresh_token = tokens.refresh_token
            self._access_token = tokens.access_token
            self._access_expires_at = time.monotonic() + lifetime - margin
            self._generation += 1
            self._staff = tokens.staff
            self._practice = tokens.practice

    def _forget_session(self) -> None:
        with self._state_lock:
            self._access_token = None
            self._refresh_token = None
            self._access_expires_at = 0.0
            self._generation += 1
        self._token_store.delete()

    def _current_access(self) -> tuple[str | None, int, bool]:
        with self._state_lock:
            fresh = self._access_token is not None and time.monotonic() < self._access_expires_at
            return self._access_token, self._generation, fresh

    def _ensure_access(self, stale_generation: int | None = None) -> tuple[str, int]:
        """A usable access token, refreshing first when it is missing, expiring or was refused.

        `stale_generation` is the generation the portal just refused with 401; if another thread
        has refreshed since, its token is used instead of refreshing again (rotation would
        otherwise burn a refresh token per thread).
        """
        token, generation, fresh = self._current_access()
        if token is not None and fresh and generation != stale_generation:
            return token, generation
        with self._refresh_lock:
            token, generation, fresh = self._current_access()
            if token is not None and fresh and generation != stale_generation:
                return token, generation
            self._refresh_locked()
            token, generation, _ = self._current_access()
            if token is None:
                raise AuthExpired()
            return token, generation

    def _authed(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: bytes | None = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        timeout: tuple[float, float] | None = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
    ) -> requests.Response:
        headers = dict(headers or {})
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        token, generation = self._ensure_access()
        for attempt in (1, 2):
            headers["Authorization"] = f"Bearer {token}"
            resp = self._raw(
                method,
                path,
                json=json,
                data=data,
                params=params,
                headers=headers,
                timeout=timeout,
                stream=stream,
            )
            if resp.status_code != 401:
                break
            if attempt == 2:
                log.info("The portal refused a freshly refreshed access token; sign-in needed")
                self._forget_session()
                raise AuthExpired()
            token, generation = self._ensure_access(stale_generation=generation)
        if resp.headers.get("Idempotency-Replayed", "").lower() == "true":
            log.debug("%s %s answered from the portal's idempotency record", method, path)
        _raise_for_status(resp)
        return resp

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False  # REQUESTS_CA_BUNDLE, proxies and .netrc must not apply
            session.verify = self._verify
            session.headers["User-Agent"] = "VisitDesk-desktop"
            session.headers["Accept"] = "application/json"
            if self.workstation:
                session.headers["X-Workstation"] = self.workstation
            self._local.session = session
            with self._sessions_lock:
                self._sessions.add(session)
        return session

    def _raw(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: bytes | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        timeout: tuple[float, float] | None = None,
        stream: bool = False,
    ) -> requests.Response:
        """One HTTP exchange; transport failures become PortalOffline / PortalUntrusted."""
        url = self.base_url + path
        try:
            resp = self._session().request(
                method,
                url,
                json=json,
                data=data,
                params=params,
                headers=headers,
                timeout=timeout or self._timeout,
                verify=self._verify,
                allow_redirects=False,
                stream=stream,
            )
        except requests.exceptions.SSLError as exc:
            if _is_cert_failure(exc):
                log.warning("The portal's TLS certificate failed verification")
                raise PortalUntrusted() from None
            log.info("TLS connection to the portal failed (%s)", type(exc).__name__)
            raise PortalOffline() from None
        except requests.exceptions.RequestException as exc:
            log.info("Portal unreachable (%s)", type(exc).__name__)
            raise PortalOffline() from None
        log.debug("%s %s -> %s", method, path, resp.status_code)
        return resp


def _is_cert_failure(exc: BaseException) -> bool:
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        cur = stack.pop()
        if not isinstance(cur, BaseException) or id(cur) in seen:
            continue
        seen.add(id(cur))
        if isinstance(cur, ssl.SSLCertVerificationError):
            return True
        if "CERTIFICATE_VERIFY_FAILED" in str(cur) or "certificate verify failed" in str(cur):
            return True
        stack.extend(a for a in cur.args if isinstance(a, BaseException))
        stack.extend(x for x in (cur.__cause__, cur.__context__, getattr(cur, "reason", None)) if x)
    return False


def _detail(resp: requests.Response) -> str:
    """The portal's {"detail": ...} in plain words (validation errors: field and message)."""
    try:
        body = resp.json()
    except ValueError:
        return ""
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, str):
        text = detail
    elif isinstance(detail, list):
        # FastAPI validation errors echo the input; keep only where and what, never the value.
        parts = []
        for entry in detail[:5]:
            if isinstance(entry, dict):
                loc = ".".join(str(p) for p in entry.get("loc", ()) if p != "body")
                msg = str(entry.get("msg", "invalid"))
                parts.append(f"{loc}: {msg}" if loc else msg)
        text = "; ".join(parts)
    else:
        text = ""
    return text[:MAX_DETAIL]


#: What the web framework answers for a path, or a method on it, that the portal has no route for.
#: The portal's own refusals always say which record or rule (see the portal's `web/errors.py`).
_NO_ROUTE = {404: "Not Found", 405: "Method Not Allowed"}


def _raise_for_status(resp: requests.Response) -> None:
    status = resp.status_code
    if status < 300:
        return
    if status == 401:
        raise AuthExpired()
    detail = _detail(resp)
    if status == 403:
        raise Forbidden(detail or None)
    if status in _NO_ROUTE and detail == _NO_ROUTE[status]:
        raise PortalOutdated()
    if status == 404:
        raise NotFound(detail or None)
    if status == 429:
        raise RateLimited(_retry_after(resp))
    if status >= 500:
        raise ServerError(status)
    raise Rejected(status, detail or f"HTTP {status}")


def _retry_after(resp: requests.Response) -> float | None:
    value = resp.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: rare enough to fall back to our own backoff


@functools.cache
def _adapter(command: StaffCommand[Any]) -> TypeAdapter[Any]:
    # A 204 command has no response model; its answer is never parsed (see _answer).
    return TypeAdapter(command.response if command.response is not None else type(None))


def _answer(resp: requests.Response, command: StaffCommand[Out]) -> Out:
    """The command's answer parsed into its response model (None for a 204 command)."""
    if command.response is None:
        return cast(Out, None)
    try:
        if command.response is ChangesPage:
            # A page of the feed: batch items are validated straight from the JSON.
            return cast(Out, read_page(resp.content))
        return cast(Out, _adapter(command).validate_json(resp.content))
    except ValidationError:
        log.warning("Unexpected answer to %s (HTTP %s)", command.name, resp.status_code)
        raise BadResponse() from None
