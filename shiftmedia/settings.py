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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from .engine.limits import Limits
from .errors import ConfigError, ConfigWarning

T = TypeVar("T")

PREFIXES = ("SHIFTMEDIA_", "S3_")
CONFIG_PREFIX = "SHIFTMEDIA_"
RESPONSES = ("serve", "redirect")
STORAGES = ("local", "s3")
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000/media"

#: Other spellings of a setting, as the seeds' products name them.
ALIASES: Mapping[str, str] = {
    "S3_ENDPOINT_URL": "S3_ENDPOINT",
    "S3_REGION_NAME": "S3_REGION",
    "AWS_ENDPOINT_URL_S3": "S3_ENDPOINT",
}
#: What an unknown name of another product means here.
HINTS: Mapping[str, str] = {
    "S3_ENABLED": "SHIFTMEDIA_STORAGE=s3",
    "SHIFTMEDIA_SECRET_KEY": "SHIFTMEDIA_SECRET_KEYS",
    "SHIFTMEDIA_API_TOKEN": "SHIFTMEDIA_API_TOKENS",
}
#: ``SHIFTMEDIA_*`` names read outside the library (the gunicorn config, the test suite, the benchmark).
RESERVED = frozenset(
    {
        "SHIFTMEDIA_CONFIG",
        "SHIFTMEDIA_BIND",
        "SHIFTMEDIA_WORKERS",
        "SHIFTMEDIA_THREADS",
        "SHIFTMEDIA_ACCESS_LOG",
        "SHIFTMEDIA_CORPUS",
        "SHIFTMEDIA_WEED",
        "SHIFTMEDIA_LOCALSTACK_PYTHON",
        "SHIFTMEDIA_CHROMIUM",
        "SHIFTMEDIA_NGINX",
    }
)
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_SSE = {"aes256": "AES256", "s3": "AES256", "aws:kms": "aws:kms", "kms": "aws:kms"}
_RETRY_MODES = ("standard", "adaptive", "legacy")


@dataclass(frozen=True)
class S3Settings:
    """Where and how the S3 backend stores objects.

    ``endpoint_url`` is ``None`` for AWS (an AWS endpoint such as
    ``https://s3.amazonaws.com`` is read as AWS too, so requests go to the
    region's own endpoint). ``public_url`` is the base URL that serves the
    prefix (a CDN or website endpoint); ``None`` means the bucket's own URL.
    ``private`` makes public URLs presigned GETs valid ``presign_expiry`` seconds.
    """

    bucket: str | None = None
    prefix: str = ""
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
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
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
        if self.retry_mode not in _RETRY_MODES:
            raise ConfigError(f"AWS_RETRY_MODE must be one of {', '.join(_RETRY_MODES)}, not {self.retry_mode!r}")


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
    public_url: str | None = None
    service_url: str | None = None
    url_prefix: str = "/media"
    response: str = "serve"
    api_tokens: tuple[str, ...] = ()
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
        values.update({k: v for k, v in env.items() if k.startswith(PREFIXES) or k in ALIASES or k in _PARSERS})
        values.update({k: _as_text(v) for k, v in (overrides or {}).items() if v is not None})
        return cls.from_values(values)

    @classmethod
    def from_app_config(cls, config: Mapping[str, Any], prefix: str = CONFIG_PREFIX) -> Settings:
        """Settings from a Flask app's config, each name spelt with ``prefix`` (see :func:`config_key`)."""
        names = {config_key(name, prefix): name for name in (*_PARSERS, *ALIASES)}
        values: dict[str, str] = {}
        for key, value in config.items():
            if not key.startswith(prefix) or value is None:
                continue
            name = names.get(key)
            if name is None:
                _warn_unknown(key, {config_key(n, prefix) for n in _PARSERS})
                continue
            values[name] = _as_text(value)
        return cls.from_values(values, warn=False)

    @classmethod
    def from_values(cls, values: Mapping[str, str], *, warn: bool = True) -> Settings:
        """Parse raw ``name → text`` values; unknown names are warned about and ignored."""
        canonical: dict[str, str] = {}
        for name, text in values.items():
            target = ALIASES.get(name, name)
            if target in _PARSERS:
                if name == target or target not in values:
                    canonical[target] = text
            elif warn and name.startswith(PREFIXES) and name not in RESERVED:
                _warn_unknown(name, set(_PARSERS))
        parsed = {name: _PARSERS[name](name, text) for name, text in canonical.items() if text.strip()}
        s3 = {f: parsed[n] for n, f in _S3_FIELDS.items() if n in parsed}
        limits = {f: parsed[n] for n, f in _LIMIT_FIELDS.items() if n in parsed}
        top = {f: parsed[n] for n, f in _TOP_FIELDS.items() if n in parsed}
        s3["public_url"] = top.get("public_url")
        return cls(limits=_limits(limits), s3=S3Settings(**s3), **top)

    @property
    def local_public_url(self) -> str:
        """The local backend's public URL: ``SHIFTMEDIA_PUBLIC_URL``, or the development server's."""
        return self.public_url or DEFAULT_PUBLIC_URL


def config_key(name: str, prefix: str = CONFIG_PREFIX) -> str:
    """The Flask config key of setting ``name``: ``SHIFTMEDIA_S3_BUCKET`` for ``S3_BUCKET``."""
    return prefix + (name[len(CONFIG_PREFIX) :] if name.startswith(CONFIG_PREFIX) else name)


def known_names() -> tuple[str, ...]:
    """Every setting name, in documentation order."""
    return tuple(_PARSERS)


def is_aws_endpoint(url: str | None) -> bool:
    """True for no endpoint (AWS's default) or one of AWS's own S3 hosts."""
    if not url:
        return True
    host = (urlsplit(url).hostname or "").lower()
    return host.endswith((".amazonaws.com", ".amazonaws.com.cn")) and host.split(".")[0].startswith("s3")


# -- parsers -------------------------------------------------------------------


def _text(_name: str, text: str) -> str:
    return text.strip()


def _keys(_name: str, text: str) -> tuple[str, ...]:
    return tuple(key.strip() for key in text.split(",") if key.strip())


def _whole(name: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {text!r}") from None
    if value < 0:
        raise ConfigError(f"{name} must not be negative")
    return value


def _seconds(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, not {text!r}") from None
    if not value > 0:
        raise ConfigError(f"{name} must be more than 0 seconds")
    return value


def _flag(name: str, text: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, not {text!r}")


def _choice(*choices: str) -> Callable[[str, str], str]:
    def parse(name: str, text: str) -> str:
        value = text.strip().lower()
        if value not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(choices)}, not {text!r}")
        return value

    return parse


def _sse(name: str, text: str) -> str:
    value = _SSE.get(text.strip().lower())
    if value is None:
        raise ConfigError(f"{name} must be AES256 or aws:kms (or S3, KMS), not {text!r}")
    return value


def _endpoint(name: str, text: str) -> str | None:
    url = text.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name} must be an http(s) URL, not {text!r}")
    return None if is_aws_endpoint(url) else url


def _url(name: str, text: str) -> str:
    url = text.strip().rstrip("/")
    if urlsplit(url).scheme not in ("http", "https"):
        raise ConfigError(f"{name} must be an http(s) URL, not {text!r}")
    return url


def _path_prefix(name: str, text: str) -> str:
    value = "/" + text.strip().strip("/")
    if value == "/":
        raise ConfigError(f"{name} must be a path such as /media")
    return value


_PARSERS: dict[str, Callable[[str, str], Any]] = {
    "SHIFTMEDIA_SECRET_KEYS": _keys,
    "SHIFTMEDIA_STORAGE": _choice(*STORAGES),
    "SHIFTMEDIA_LOCAL_ROOT": _text,
    "SHIFTMEDIA_PUBLIC_URL": _url,
    "SHIFTMEDIA_SERVICE_URL": _url,
    "SHIFTMEDIA_URL_PREFIX": _path_prefix,
    "SHIFTMEDIA_RESPONSE": _choice(*RESPONSES),
    "SHIFTMEDIA_API_TOKENS": _keys,
    "SHIFTMEDIA_MAX_PIXELS": _whole,
    "SHIFTMEDIA_MAX_INPUT_BYTES": _whole,
    "SHIFTMEDIA_MAX_OUTPUT_SIDE": _whole,
    "SHIFTMEDIA_MAX_FRAME_PIXELS": _whole,
    "SHIFTMEDIA_MAX_CONCURRENT_RESIZES": _whole,
    "SHIFTMEDIA_RESIZE_TIMEOUT": _seconds,
    "S3_BUCKET": _text,
    "S3_PREFIX": _text,
    "S3_ENDPOINT": _endpoint,
    "S3_REGION": _text,
    "S3_ACCESS_KEY_ID": _text,
    "S3_SECRET_ACCESS_KEY": _text,
    "S3_FORCE_PATH_STYLE": _flag,
    "S3_SSE": _sse,
    "S3_SSE_KMS_KEY_ID": _text,
    "AWS_MAX_ATTEMPTS": _whole,
    "AWS_RETRY_MODE": _choice(*_RETRY_MODES),
    "SHIFTMEDIA_S3_PRIVATE": _flag,
    "SHIFTMEDIA_PRESIGN_EXPIRY": _whole,
}
_TOP_FIELDS = {
    "SHIFTMEDIA_SECRET_KEYS": "secret_keys",
    "SHIFTMEDIA_STORAGE": "storage",
    "SHIFTMEDIA_LOCAL_ROOT": "local_root",
    "SHIFTMEDIA_PUBLIC_URL": "public_url",
    "SHIFTMEDIA_SERVICE_URL": "service_url",
    "SHIFTMEDIA_URL_PREFIX": "url_prefix",
    "SHIFTMEDIA_RESPONSE": "response",
    "SHIFTMEDIA_API_TOKENS": "api_tokens",
    "SHIFTMEDIA_MAX_CONCURRENT_RESIZES": "max_concurrent_resizes",
    "SHIFTMEDIA_RESIZE_TIMEOUT": "resize_timeout",
}
_LIMIT_FIELDS = {
    "SHIFTMEDIA_MAX_PIXELS": "max_pixels",
    "SHIFTMEDIA_MAX_INPUT_BYTES": "max_input_bytes",
    "SHIFTMEDIA_MAX_OUTPUT_SIDE": "max_output_side",
    "SHIFTMEDIA_MAX_FRAME_PIXELS": "max_frame_pixels",
}
_S3_FIELDS = {
    "S3_BUCKET": "bucket",
    "S3_PREFIX": "prefix",
    "S3_ENDPOINT": "endpoint_url",
    "S3_REGION": "region",
    "S3_ACCESS_KEY_ID": "access_key_id",
    "S3_SECRET_ACCESS_KEY": "secret_access_key",
    "S3_FORCE_PATH_STYLE": "force_path_style",
    "S3_SSE": "sse",
    "S3_SSE_KMS_KEY_ID": "sse_kms_key_id",
    "AWS_MAX_ATTEMPTS": "max_attempts",
    "AWS_RETRY_MODE": "retry_mode",
    "SHIFTMEDIA_S3_PRIVATE": "private",
    "SHIFTMEDIA_PRESIGN_EXPIRY": "presign_expiry",
}


def _limits(values: Mapping[str, int]) -> Limits:
    """Limits from the ``SHIFTMEDIA_MAX_*`` values; ``0`` would turn a check off, so it is refused."""
    for name, value in values.items():
        if value < 1:
            setting = next(n for n, f in _LIMIT_FIELDS.items() if f == name)
            raise ConfigError(f"{setting} must be a positive whole number")
    return Limits(**values)


def _warn_unknown(name: str, known: set[str]) -> None:
    hint = HINTS.get(name) or next(iter(difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)), None)
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
    return str(value)

