"""A local stand-in of the few Stripe API calls the portal makes (we cannot run Stripe itself).

It speaks Stripe's wire format: form-encoded parameters with bracketed keys, bearer secret key,
``Idempotency-Key`` (the same key replays the first answer, as Stripe does), JSON objects and
``card_error`` answers with HTTP 402. Its test PaymentMethods behave like Stripe's test ones of the
same name.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

#: PaymentMethod id -> (brand, last4, outcome).
CARDS: dict[str, tuple[str, str, str]] = {
    "pm_card_visa": ("visa", "4242", "succeeded"),
    "pm_card_mastercard": ("mastercard", "4444", "succeeded"),
    "pm_card_chargeDeclined": ("visa", "0002", "declined"),
    "pm_card_threeDSecure2Required": ("visa", "3155", "requires_action"),
}


@dataclass
class StripeStandIn:
    secret_key: str
    #: Every PaymentIntent creation received: (form parameters, idempotency key).
    requests: list[tuple[dict[str, str], str | None]] = field(default_factory=list)
    #: PaymentIntents made, by id.
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    _answers: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> StripeStandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return None

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(parse_qsl(self.rfile.read(length).decode()))
                status, body = standin.answer(
                    self.path,
                    self.headers.get("Authorization", ""),
                    self.headers.get("Idempotency-Key"),
                    form,
                )
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.send_header("Request-Id", f"req_{secrets.token_hex(6)}")
                self.end_headers()
                self.wfile.write(raw)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def answer(
        self, path: str, authorization: str, key: str | None, form: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        if authorization != f"Bearer {self.secret_key}":
            return 401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key"}}
        if path != "/v1/payment_intents":
            return 404, {"error": {"type": "invalid_request_error", "message": "Unknown path"}}
        if key is not None and key in self._answers:
            return self._answers[key]
        self.requests.append((form, key))
        result = self._create_intent(form)
        if key is not None:
            self._answers[key] = result
        return result

    def _create_intent(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        method = form.get("payment_method", "")
        if method not in CARDS:
            return 400, {
                "error": {"type": "invalid_request_error", "message": "No such PaymentMethod"}
            }
        brand, last4, outcome = CARDS[method]
        intent_id = f"pi_{secrets.token_hex(12)}"
        if outcome == "declined":
            return 402, {
                "error": {
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": "generic_decline",
                    "message": "Your card was declined.",
                    "param": "",
                }
            }
        metadata = {
            k[len("metadata[") : -1]: v for k, v in form.items() if k.startswith("metadata[")
        }
        intent = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": int(form["amount"]),
            "amount_received": int(form["amount"]) if outcome == "succeeded" else 0,
            "currency": form["currency"],
            "status": outcome,
            "client_secret": f"{intent_id}_secret_{secrets.token_hex(8)}",
            "metadata": metadata,
            "payment_method": {
                "id": method,
                "object": "payment_method",
                "type": "card",
                "card": {"brand": brand, "last4": last4},
            },
        }
        self.intents[intent_id] = intent
        return 200, intent


def intent_event(intent: dict[str, Any], kind: str) -> str:
    """The JSON of a Stripe event about ``intent`` (as Stripe posts it to a webhook)."""
    payment_method = intent.get("payment_method")
    body = {
        **intent,
        "status": "succeeded" if kind == "payment_intent.succeeded" else "requires_payment_method",
        # Events carry the PaymentMethod as an id, not expanded.
        "payment_method": payment_method["id"] if isinstance(payment_method, dict) else None,
    }
    return json.dumps(
        {
            "id": f"evt_{secrets.token_hex(12)}",
            "object": "event",
            "type": kind,
            "api_version": "2024-06-20",
            "data": {"object": body},
        }
    )
