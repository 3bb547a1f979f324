"""Settings: the ``SHIFTMEDIA_*`` and ``S3_*`` names, read once into one typed object.

Names come from, in order of precedence: ``overrides``, the environment, a
TOML file (``SHIFTMEDIA_CONFIG`` or ``--config``), the defaults. The seeds'
other spellings are accepted as aliases (InvenioRDM's ``S3_ENDPOINT_URL`` and
``S3_REGION_NAME``, Immich's ``S3_SSE=S3|KMS``), and so are botocore's own
``AWS_ENDPOINT_URL_S3``, ``AWS_MAX_ATTEMPTS`` and ``AWS_RETRY_MODE``. An
unknown ``SHIFTMEDIA_*``/``S3_*`` name is a :class:`ConfigWarning` naming the
nearest known setting: a typo never passes silently.

A Flask app spells every name with the extension's prefix
(:func:`config_key`: ``SHIFTMEDIA_S3_BUCKET`` for ``S3_BUCKET``), so its own
``S3_*`` keys never clash with ours.
"""

from __future__ import annotations

import difflib
import os
import tomllib
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..engine.limits import Limits
from ..errors import ConfigError, ConfigWarning
from ..presets import Presets
from .names import (
    ALIASES,
    CONFIG_PREFIX,
    DEFAULT_PUBLIC_URL,
    DEFAULTS,
    HINTS,
    LIMIT_FIELDS,
    PARSERS,
    PREFIXES,
    PRESET_FIELDS,
    RESERVED,
    RETRY_MODES,
    S3_FIELDS,
    TOP_FIELDS,
    aws_region_of,
    is_aws_endpoint,
)

__all__ = ["CONFIG_PREFIX", "DEFAULTS", "S3Settings", "Settings", "config_key", "is_aws_endpoint", "known_names"]


@dataclass(frozen=True)
class S3Settings:
    """Where and how the S3 backend stores objects.

    ``endpoint_url`` is ``None`` for AWS (an AWS endpoint such as
    ``https://s3.amazonaws.com`` is read as AWS too, so requests go to the
    region's own endpoint). ``public_url`` is the base URL that serves the
    prefix (a CDN or website endpoint); ``None`` means the bucket's own URL.
    ``private`` makes public URLs presigned GETs valid ``presign_expiry`` seconds.
    ``source_bucket``/``source_prefix`` name where sources are read (default:
    ``bucket``/``prefix``); shiftmedia never writes there.
    """

    bucket: str | None = None
    prefix: str = ""
    source_bucket: str | None = None
    source_prefix: str | None = None
    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    force_path_style: bool = False
    sse: str | None = None
    sse_kms_key_id: str | None = None
    public_url: str | None = None
    private: bool = False
    presign_expiry: int = 3600
    connect_timeout: float = 2.0
    read_timeout: float = 5.0
    max_attempts: int = 3
    retry_mode: str = "standard"

    def __post_init__(self) -> None:
        """Refuse combinations no store accepts, before any client is made."""
        if bool(self.access_key_id) != bool(self.secret_access_key):
            raise ConfigError("set both S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, or neither")
        if self.sse not in (None, "AES256", "aws:kms"):
            raise ConfigError(f"S3_SSE must be AES256 or aws:kms (or S3, KMS), not {self.sse!r}")
        if self.sse_kms_key_id and self.sse != "aws:kms":
            raise ConfigError("S3_SSE_KMS_KEY_ID needs S3_SSE=aws:kms")
        if not 1 <= self.presign_expiry <= 7 * 24 * 3600:
            raise ConfigError("SHIFTMEDIA_PRESIGN_EXPIRY must be between 1 second and 7 days")
        if self.max_attempts < 1:
            raise ConfigError("AWS_MAX_ATTEMPTS must be at least 1")
        if self.retry_mode not in RETRY_MODES:
            raise ConfigError(f"AWS_RETRY_MODE must be one of {', '.join(RETRY_MODES)}, not {self.retry_mode!r}")


@dataclass(frozen=True)
class Settings:
    """Every setting of the library and the service, typed and checked.

    ``secret_keys`` are newest first; an empty tuple is refused when a
    :class:`~shiftmedia.storage.Storage` is built, not here, so commands that
    sign nothing (``convert``, ``migrate``) run without one.
    """

    secret_keys: tuple[str, ...] = ()
    storage: str = "local"
    local_root: str = "var/media"
    local_source_root: str | None = None
    public_url: str | None = None
    service_url: str | None = None
    url_prefix: str = "/media"
    response: str = "serve"
    api_tokens: tuple[str, ...] = ()
    demo_upload: bool = False
    metrics_tokens: tuple[str, ...] = ()
    metrics_public: bool = False
    strip_gps: bool = False
    public_originals: bool = False
    presets: Presets = Presets()
    render_lease: float = 30.0
    limits: Limits = Limits()
    max_concurrent_resizes: int | None = None
    resize_timeout: float = 20.0
    s3: S3Settings = S3Settings()

    @classmethod
    def load(
        cls,
        config_file: str | os.PathLike[str] | None = None,
        environ: Mapping[str, str] | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> Settings:
        """Settings from the config file, then the environment, then ``overrides`` (by setting name)."""
        env = os.environ if environ is None else environ
        values: dict[str, str] = {}
        path = config_file or env.get("SHIFTMEDIA_CONFIG")
        if path:
            values.update(_read_file(Path(path)))
        values.update({k: v for k, v in env.items() if k.startswith(PREFIXES) or k in ALIASES or k in PARSERS})
        values.update({k: _as_text(v) for k, v in (overrides or {}).items() if v is not None})
        return cls.from_values(values)

    @classmethod
    def from_app_config(cls, config: Mapping[str, Any], prefix: str = CONFIG_PREFIX) -> Settings:
        """Settings from a Flask app's config, each name spelt with ``prefix`` (see :func:`config_key`)."""
        names = {config_key(name, prefix): name for name in (*PARSERS, *ALIASES)}
        values: dict[str, str] = {}
        for key, value in config.items():
            if not key.startswith(prefix) or value is None:
                continue
            name = names.get(key)
            if name is None:
                if not key.endswith(_OTHER_INSTANCE_SUFFIXES):
                    _warn_unknown(key, {config_key(n, prefix) for n in PARSERS})
                continue
            values[name] = _as_text(value)
        return cls.from_values(values, warn=False)

    @classmethod
    def from_values(cls, values: Mapping[str, str], *, warn: bool = True) -> Settings:
        """Parse raw ``name → text`` values; unknown names are warned about and ignored."""
        canonical: dict[str, str] = {}
        for name, text in values.items():
            target = ALIASES.get(name, name)
            if target in PARSERS:
                if name == target or target not in values:
                    canonical[target] = text
            elif warn and name.startswith(PREFIXES) and name not in RESERVED:
                _warn_unknown(name, set(PARSERS))
        parsed = {name: PARSERS[name](name, text) for name, text in canonical.items() if text.strip()}
        s3 = {f: parsed[n] for n, f in S3_FIELDS.items() if n in parsed}
        limits = {f: parsed[n] for n, f in LIMIT_FIELDS.items() if n in parsed}
        top = {f: parsed[n] for n, f in TOP_FIELDS.items() if n in parsed}
        presets = Presets(**{f: parsed[n] for n, f in PRESET_FIELDS.items() if n in parsed})
        s3["public_url"] = top.get("public_url")
        endpoint = canonical.get("S3_ENDPOINT", "")
        if "region" not in s3 and endpoint.strip() and s3.get("endpoint_url") is None:
            s3["region"] = aws_region_of(endpoint)
        return cls(limits=_limits(limits), s3=S3Settings(**s3), presets=presets, **top)

    @property
    def local_public_url(self) -> str:
        """The local backend's public URL: ``SHIFTMEDIA_PUBLIC_URL``, or the development server's."""
        return self.public_url or DEFAULT_PUBLIC_URL


def config_key(name: str, prefix: str = CONFIG_PREFIX) -> str:
    """The Flask config key of setting ``name``: ``SHIFTMEDIA_S3_BUCKET`` for ``S3_BUCKET``."""
    return prefix + name.removeprefix(CONFIG_PREFIX)


#: How another extension instance's keys end (``SHIFTMEDIA_PRIVATE_LOCAL_ROOT``): not typos of ours.
_OTHER_INSTANCE_SUFFIXES = tuple("_" + config_key(name, "") for name in (*PARSERS, *ALIASES))


def known_names() -> tuple[str, ...]:
    """Every setting name, in documentation order."""
    return tuple(PARSERS)


def _limits(values: Mapping[str, int]) -> Limits:
    """Limits from the ``SHIFTMEDIA_MAX_*`` values; ``0`` would turn a check off, so it is refused."""
    for name, value in values.items():
        if value < 1:
            setting = next(n for n, f in LIMIT_FIELDS.items() if f == name)
            raise ConfigError(f"{setting} must be a positive whole number")
    return Limits(**values)


def _warn_unknown(name: str, known: set[str]) -> None:
    hint = HINTS.get(name) or next(iter(difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.8)), None)
    advice = f"; did you mean {hint}?" if hint else "; it is not a shiftmedia setting"
    warnings.warn(f"unknown setting {name} is ignored{advice}", ConfigWarning, stacklevel=4)


def _read_file(path: Path) -> dict[str, str]:
    try:
        with path.open("rb") as stream:
            data = tomllib.load(stream)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    unknown = [k for k in data if not k.startswith(PREFIXES) and k not in ALIASES]
    if unknown:
        raise ConfigError(f"unknown setting in {path}: {', '.join(sorted(unknown))}")
    return {k: _as_text(v) for k, v in data.items()}


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items())
    return str(value)
