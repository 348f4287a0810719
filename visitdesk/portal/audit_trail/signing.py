"""The Ed25519 key that signs audit checkpoints, kept in a file in the data directory.

The key lives outside the database on purpose: whoever can rewrite the database (and recompute
every hash of the chain) still cannot sign a new head. Several portal hosts must share the file.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from visitdesk.api.wire_audit import checkpoint_message, verify_signature
from visitdesk.portal.web.config import load_or_create_secret_file

KEY_FILE = "audit-signing.key"


def public_key_text(key: Ed25519PublicKey) -> str:
    return base64.b64encode(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


@dataclass(frozen=True)
class AuditSigner:
    key: Ed25519PrivateKey

    @classmethod
    def load(cls, data_dir: Path) -> AuditSigner:
        """The key in `data_dir` (created, owner-only, on first use)."""
        seed = load_or_create_secret_file(data_dir / KEY_FILE)
        return cls(Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed.decode())))

    @property
    def public_key(self) -> str:
        return public_key_text(self.key.public_key())

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self.key.sign(message)).decode()

    def verifies(self, message: bytes, signature: str) -> bool:
        return verify_signature(self.public_key, message, signature)


__all__ = ["KEY_FILE", "AuditSigner", "checkpoint_message", "public_key_text", "verify_signature"]
