"""Signatures of resize names: HMAC-SHA256 over the id and every parameter.

Signing goes through :mod:`itsdangerous` (HMAC key derivation, SHA-256, compared
in constant time). Several secret keys can be active, newest first: the newest
signs, every one verifies, so a key can be rotated without breaking live URLs,
and a URL signed with a key stops working once that key is removed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import itsdangerous

from .errors import BadSignature, ConfigError
from .spec import ResizeSpec

SALT = "shiftmedia.resize.v1"
MIN_KEY_LENGTH = 16


class ResizeSigner:
    """Signs and verifies ``<id>/<canonical unsigned resize name>``."""

    def __init__(self, secret_keys: Sequence[str | bytes]) -> None:
        keys = [k.encode() if isinstance(k, str) else bytes(k) for k in secret_keys if k]
        if not keys:
            raise ConfigError("SHIFTMEDIA_SECRET_KEYS is not set: there is no secret key to sign with")
        if any(len(k) < MIN_KEY_LENGTH for k in keys):
            raise ConfigError(f"every secret key must be at least {MIN_KEY_LENGTH} characters")
        # itsdangerous signs with the last key of its list; ours is newest first.
        self._signer = itsdangerous.Signer(
            list(reversed(keys)),
            salt=SALT,
            key_derivation="hmac",
            digest_method=hashlib.sha256,
        )

    def __repr__(self) -> str:
        return "ResizeSigner(<secret keys hidden>)"

    def sign(self, media_id: str, spec: ResizeSpec) -> str:
        """The signature of one resize of one original."""
        return self._signer.get_signature(_payload(media_id, spec)).decode("ascii")

    def verify(self, media_id: str, spec: ResizeSpec, signature: str) -> None:
        """Raise :class:`BadSignature` unless ``signature`` is valid for this resize."""
        if not self._signer.verify_signature(_payload(media_id, spec), signature.encode("ascii")):
            raise BadSignature("invalid signature")


def _payload(media_id: str, spec: ResizeSpec) -> bytes:
    return f"{media_id}/{spec.name()}".encode("ascii")
