"""Signatures: of resize names (HMAC-SHA256 over the id and every parameter), and of original access tokens.

Signing goes through :mod:`itsdangerous` (HMAC key derivation, SHA-256, compared
in constant time). Several secret keys can be active, newest first: the newest
signs, every one verifies, so a key can be rotated without breaking live URLs,
and a URL signed with a key stops working once that key is removed.
:class:`AccessSigner` signs expiring tokens for non-public originals with the
same keys under another salt, so neither kind of signature stands for the other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import itsdangerous

from .errors import BadSignature, ConfigError, PrivateOriginal
from .spec import ResizeSpec

SALT = "shiftmedia.resize.v1"
ACCESS_SALT = "shiftmedia.original-access.v1"
MIN_KEY_LENGTH = 16


def _keys(secret_keys: Sequence[str | bytes]) -> list[bytes]:
    """The keys as itsdangerous takes them: bytes, checked, oldest first (it signs with the last)."""
    keys = [k.encode() if isinstance(k, str) else bytes(k) for k in secret_keys if k]
    if not keys:
        raise ConfigError(
            "SHIFTMEDIA_SECRET_KEYS is not set: there is no secret key to sign with. Make one with "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(32))' and keep it; in a checkout, "
            "make run and make test keep a development key in var/dev-secret-key"
        )
    if any(len(k) < MIN_KEY_LENGTH for k in keys):
        raise ConfigError(f"every secret key must be at least {MIN_KEY_LENGTH} characters")
    return list(reversed(keys))


class ResizeSigner:
    """Signs and verifies ``<id>/<canonical unsigned resize name>``."""

    def __init__(self, secret_keys: Sequence[str | bytes]) -> None:
        self._signer = itsdangerous.Signer(
            _keys(secret_keys),
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
    return f"{media_id}/{spec.name()}".encode()


class AccessSigner:
    """Tokens that let a URL read one original for ``max_age`` seconds (``<timestamp>.<signature>``)."""

    def __init__(self, secret_keys: Sequence[str | bytes], max_age: int) -> None:
        self.max_age = max_age
        self._signer = itsdangerous.TimestampSigner(
            _keys(secret_keys),
            salt=ACCESS_SALT,
            key_derivation="hmac",
            digest_method=hashlib.sha256,
        )

    def __repr__(self) -> str:
        return f"AccessSigner(<secret keys hidden>, max_age={self.max_age})"

    def token(self, key: str) -> str:
        """A fresh token for ``key``."""
        value = key.encode()
        return self._signer.sign(value)[len(value) + 1 :].decode("ascii")

    def verify(self, key: str, token: str | None) -> None:
        """Raise :class:`PrivateOriginal` unless ``token`` was signed for ``key`` less than ``max_age`` seconds ago."""
        if not token:
            raise PrivateOriginal("originals are not public: link them with the URL the application gives")
        try:
            self._signer.unsign(f"{key}.{token}", max_age=self.max_age)
        except itsdangerous.SignatureExpired:
            raise PrivateOriginal("the access token has expired") from None
        except itsdangerous.BadSignature:
            raise PrivateOriginal("invalid access token") from None
