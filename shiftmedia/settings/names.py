"""Every setting's name, how its text is read, and which field it fills.

One table (:data:`PARSERS`) is the list of settings: the environment, the
TOML file and a Flask app's config are all read through it, and the
documentation's list is checked against it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from ..errors import ConfigError
from ..presets import parse_presets

PREFIXES = ("SHIFTMEDIA_", "S3_")
CONFIG_PREFIX = "SHIFTMEDIA_"
RESPONSES = ("serve", "redirect")
STORAGES = ("local", "s3")
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000/media"
#: Defaults of the settings that have one, as text (an embedding app's config shows them).
DEFAULTS: Mapping[str, str] = {
    "SHIFTMEDIA_STORAGE": "local",
    "SHIFTMEDIA_LOCAL_ROOT": "var/media",
    "SHIFTMEDIA_URL_PREFIX": "/media",
    "SHIFTMEDIA_RESPONSE": "serve",
}

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
        "SHIFTMEDIA_METRICS_BIND",
    }
)
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_SSE = {"aes256": "AES256", "s3": "AES256", "aws:kms": "aws:kms", "kms": "aws:kms"}
RETRY_MODES = ("standard", "adaptive", "legacy")


def is_aws_endpoint(url: str | None) -> bool:
    """True for no endpoint (AWS's default) or one of AWS's own S3 hosts."""
    if not url:
        return True
    host = (urlsplit(url).hostname or "").lower()
    return host.endswith((".amazonaws.com", ".amazonaws.com.cn")) and host.split(".")[0].startswith("s3")


def aws_region_of(url: str) -> str | None:
    """The region an AWS S3 endpoint names (``s3.us-west-2.amazonaws.com`` → ``us-west-2``), if any."""
    labels = (urlsplit(url).hostname or "").lower().split(".")
    region = next((label for label in labels[1:-2] if label[-1:].isdigit() and label.count("-") >= 2), None)
    if region is None and labels[0].startswith("s3-"):
        region = labels[0][len("s3-") :]
    return region


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
    """An http(s) URL, or a path on the service's own host (``/media``)."""
    url = text.strip().rstrip("/")
    parts = urlsplit(url)
    if not (parts.scheme in ("http", "https") and parts.netloc) and not (url.startswith("/") and not parts.netloc):
        raise ConfigError(f"{name} must be an http(s) URL or a path starting with /, not {text!r}")
    return url


def _path_prefix(name: str, text: str) -> str:
    value = "/" + text.strip().strip("/")
    if value == "/":
        raise ConfigError(f"{name} must be a path such as /media")
    return value


PARSERS: dict[str, Callable[[str, str], Any]] = {
    "SHIFTMEDIA_SECRET_KEYS": _keys,
    "SHIFTMEDIA_STORAGE": _choice(*STORAGES),
    "SHIFTMEDIA_LOCAL_ROOT": _text,
    "SHIFTMEDIA_LOCAL_SOURCE_ROOT": _text,
    "SHIFTMEDIA_PUBLIC_URL": _url,
    "SHIFTMEDIA_SERVICE_URL": _url,
    "SHIFTMEDIA_URL_PREFIX": _path_prefix,
    "SHIFTMEDIA_RESPONSE": _choice(*RESPONSES),
    "SHIFTMEDIA_API_TOKENS": _keys,
    "SHIFTMEDIA_DEMO_UPLOAD": _flag,
    "SHIFTMEDIA_METRICS_TOKENS": _keys,
    "SHIFTMEDIA_METRICS_PUBLIC": _flag,
    "SHIFTMEDIA_STRIP_GPS": _flag,
    "SHIFTMEDIA_PUBLIC_ORIGINALS": _flag,
    "SHIFTMEDIA_PRESETS": parse_presets,
    "SHIFTMEDIA_ONLY_PRESETS": _flag,
    "SHIFTMEDIA_EAGER_PRESETS": _keys,
    "SHIFTMEDIA_RENDER_LEASE": _seconds,
    "SHIFTMEDIA_MAX_PIXELS": _whole,
    "SHIFTMEDIA_MAX_INPUT_BYTES": _whole,
    "SHIFTMEDIA_MAX_OUTPUT_SIDE": _whole,
    "SHIFTMEDIA_MAX_FRAME_PIXELS": _whole,
    "SHIFTMEDIA_MAX_FRAMES": _whole,
    "SHIFTMEDIA_MAX_OUTPUT_PIXELS": _whole,
    "SHIFTMEDIA_MAX_VIDEO_BYTES": _whole,
    "SHIFTMEDIA_MAX_DURATION": _whole,
    "SHIFTMEDIA_MAX_FPS": _whole,
    "SHIFTMEDIA_MAX_DECODE_PIXELS": _whole,
    "SHIFTMEDIA_MAX_CONCURRENT_RESIZES": _whole,
    "SHIFTMEDIA_RESIZE_TIMEOUT": _seconds,
    "S3_BUCKET": _text,
    "S3_PREFIX": _text,
    "S3_SOURCE_BUCKET": _text,
    "S3_SOURCE_PREFIX": _text,
    "S3_ENDPOINT": _endpoint,
    "S3_REGION": _text,
    "S3_ACCESS_KEY_ID": _text,
    "S3_SECRET_ACCESS_KEY": _text,
    "S3_FORCE_PATH_STYLE": _flag,
    "S3_SSE": _sse,
    "S3_SSE_KMS_KEY_ID": _text,
    "AWS_MAX_ATTEMPTS": _whole,
    "AWS_RETRY_MODE": _choice(*RETRY_MODES),
    "SHIFTMEDIA_S3_PRIVATE": _flag,
    "SHIFTMEDIA_PRESIGN_EXPIRY": _whole,
    "SHIFTMEDIA_S3_CONNECT_TIMEOUT": _seconds,
    "SHIFTMEDIA_S3_READ_TIMEOUT": _seconds,
}
TOP_FIELDS = {
    "SHIFTMEDIA_SECRET_KEYS": "secret_keys",
    "SHIFTMEDIA_STORAGE": "storage",
    "SHIFTMEDIA_LOCAL_ROOT": "local_root",
    "SHIFTMEDIA_LOCAL_SOURCE_ROOT": "local_source_root",
    "SHIFTMEDIA_PUBLIC_URL": "public_url",
    "SHIFTMEDIA_SERVICE_URL": "service_url",
    "SHIFTMEDIA_URL_PREFIX": "url_prefix",
    "SHIFTMEDIA_RESPONSE": "response",
    "SHIFTMEDIA_API_TOKENS": "api_tokens",
    "SHIFTMEDIA_DEMO_UPLOAD": "demo_upload",
    "SHIFTMEDIA_METRICS_TOKENS": "metrics_tokens",
    "SHIFTMEDIA_METRICS_PUBLIC": "metrics_public",
    "SHIFTMEDIA_STRIP_GPS": "strip_gps",
    "SHIFTMEDIA_PUBLIC_ORIGINALS": "public_originals",
    "SHIFTMEDIA_RENDER_LEASE": "render_lease",
    "SHIFTMEDIA_MAX_CONCURRENT_RESIZES": "max_concurrent_resizes",
    "SHIFTMEDIA_RESIZE_TIMEOUT": "resize_timeout",
}
PRESET_FIELDS = {
    "SHIFTMEDIA_PRESETS": "named",
    "SHIFTMEDIA_ONLY_PRESETS": "only",
    "SHIFTMEDIA_EAGER_PRESETS": "eager",
}
LIMIT_FIELDS = {
    "SHIFTMEDIA_MAX_PIXELS": "max_pixels",
    "SHIFTMEDIA_MAX_INPUT_BYTES": "max_input_bytes",
    "SHIFTMEDIA_MAX_OUTPUT_SIDE": "max_output_side",
    "SHIFTMEDIA_MAX_FRAME_PIXELS": "max_frame_pixels",
    "SHIFTMEDIA_MAX_FRAMES": "max_frames",
    "SHIFTMEDIA_MAX_OUTPUT_PIXELS": "max_output_pixels",
    "SHIFTMEDIA_MAX_VIDEO_BYTES": "max_video_bytes",
    "SHIFTMEDIA_MAX_DURATION": "max_duration",
    "SHIFTMEDIA_MAX_FPS": "max_fps",
    "SHIFTMEDIA_MAX_DECODE_PIXELS": "max_decode_pixels",
}
S3_FIELDS = {
    "S3_BUCKET": "bucket",
    "S3_PREFIX": "prefix",
    "S3_SOURCE_BUCKET": "source_bucket",
    "S3_SOURCE_PREFIX": "source_prefix",
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
    "SHIFTMEDIA_S3_CONNECT_TIMEOUT": "connect_timeout",
    "SHIFTMEDIA_S3_READ_TIMEOUT": "read_timeout",
}
