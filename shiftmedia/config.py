"""Configuration: the ``SHIFTMEDIA_*`` and ``S3_*`` settings, from a file and the environment.

The same names work as environment variables, as keys of a TOML config file
(``SHIFTMEDIA_CONFIG`` or ``--config``) and as Flask config keys. Environment
variables override the file. :func:`build_storage` turns settings into a
ready :class:`~shiftmedia.storage.Storage`.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .backends.base import Backend
from .backends.local import LocalBackend
from .engine import Limits
from .errors import ConfigError
from .storage import Storage

PREFIXES = ("SHIFTMEDIA_", "S3_")
DEFAULTS: Mapping[str, str] = {
    "SHIFTMEDIA_STORAGE": "local",
    "SHIFTMEDIA_LOCAL_ROOT": "var/media",
    "SHIFTMEDIA_PUBLIC_URL": "http://127.0.0.1:8000/media",
}
_LIMITS = {
    "SHIFTMEDIA_MAX_PIXELS": "max_pixels",
    "SHIFTMEDIA_MAX_INPUT_BYTES": "max_input_bytes",
    "SHIFTMEDIA_MAX_OUTPUT_SIDE": "max_output_side",
    "SHIFTMEDIA_MAX_FRAME_PIXELS": "max_frame_pixels",
}


@dataclass(frozen=True)
class Settings:
    """The settings shiftmedia reads, as one mapping of names to strings."""

    values: Mapping[str, str]

    def get(self, name: str, default: str | None = None) -> str | None:
        """A setting, or ``default`` when unset or empty."""
        value = self.values.get(name)
        return value if value not in (None, "") else default

    @property
    def secret_keys(self) -> list[str]:
        """``SHIFTMEDIA_SECRET_KEYS``: comma-separated, newest first."""
        raw = self.get("SHIFTMEDIA_SECRET_KEYS")
        if raw is None:
            raise ConfigError("SHIFTMEDIA_SECRET_KEYS is not set")
        return [key.strip() for key in raw.split(",") if key.strip()]

    def number(self, name: str, default: int) -> int:
        """A whole, non-negative setting, or ``default`` when unset."""
        raw = self.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a whole number") from None
        if value < 0:
            raise ConfigError(f"{name} must not be negative")
        return value

    def choice(self, name: str, choices: tuple[str, ...]) -> str:
        """A setting that must be one of ``choices`` (the first is the default)."""
        value = self.get(name, choices[0])
        if value not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
        return value  # type: ignore[return-value]

    @property
    def limits(self) -> Limits:
        """The engine's limits, from ``SHIFTMEDIA_MAX_*``."""
        overrides = {field: self.number(name, 0) for name, field in _LIMITS.items() if self.get(name) is not None}
        return Limits(**overrides)


def load_settings(
    config_file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Settings from defaults, then the config file, then the environment, then ``overrides``."""
    env = os.environ if environ is None else environ
    values: dict[str, str] = dict(DEFAULTS)
    path = config_file or env.get("SHIFTMEDIA_CONFIG")
    if path:
        values.update(_read_file(Path(path)))
    values.update({k: v for k, v in env.items() if k.startswith(PREFIXES)})
    if overrides:
        values.update({k: _as_text(v) for k, v in overrides.items() if k.startswith(PREFIXES) and v is not None})
    return Settings(values)


def build_backend(settings: Settings) -> Backend:
    """The backend ``SHIFTMEDIA_STORAGE`` names, configured from ``settings``."""
    kind = settings.get("SHIFTMEDIA_STORAGE", "local")
    if kind == "local":
        return LocalBackend(
            settings.get("SHIFTMEDIA_LOCAL_ROOT", DEFAULTS["SHIFTMEDIA_LOCAL_ROOT"]),  # type: ignore[arg-type]
            settings.get("SHIFTMEDIA_PUBLIC_URL", DEFAULTS["SHIFTMEDIA_PUBLIC_URL"]),  # type: ignore[arg-type]
        )
    if kind == "s3":
        from .backends.s3 import S3Backend

        return S3Backend.from_env(settings.values)
    raise ConfigError(f"SHIFTMEDIA_STORAGE must be local or s3, not {kind!r}")


def backend_at(location: str, settings: Settings) -> Backend:
    """The backend at ``local:PATH`` or ``s3://BUCKET[/PREFIX]``.

    An S3 location takes its endpoint, region, credentials and encryption from
    the ``S3_*`` settings; only bucket and prefix come from the location.
    """
    if location.startswith("local:") and len(location) > len("local:"):
        return LocalBackend(location[len("local:") :], settings.get("SHIFTMEDIA_PUBLIC_URL", ""))  # type: ignore[arg-type]
    parts = urlsplit(location)
    if parts.scheme == "s3" and parts.netloc:
        from .backends.s3 import S3Backend

        return S3Backend.from_env({**settings.values, "S3_BUCKET": parts.netloc, "S3_PREFIX": parts.path.strip("/")})
    raise ConfigError(f"a location is local:PATH or s3://BUCKET[/PREFIX], not {location!r}")


def build_storage(settings: Settings) -> Storage:
    """A :class:`Storage` over the configured backend, keys, limits and resize bounds."""
    backend = build_backend(settings)
    service_url = settings.get("SHIFTMEDIA_SERVICE_URL")
    if getattr(backend, "private", False) and not service_url:
        raise ConfigError("a private bucket needs SHIFTMEDIA_SERVICE_URL: resize URLs must reach the service")
    return Storage(
        backend,
        settings.secret_keys,
        limits=settings.limits,
        service_url=service_url,
        max_concurrent_resizes=settings.number("SHIFTMEDIA_MAX_CONCURRENT_RESIZES", 0) or None,
        resize_timeout=settings.number("SHIFTMEDIA_RESIZE_TIMEOUT", 20),
    )


def _read_file(path: Path) -> dict[str, str]:
    try:
        with path.open("rb") as stream:
            data = tomllib.load(stream)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    unknown = [k for k in data if not k.startswith(PREFIXES)]
    if unknown:
        raise ConfigError(f"unknown setting in {path}: {', '.join(sorted(unknown))}")
    return {k: _as_text(v) for k, v in data.items()}


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)
