"""Settings: parsed once into one typed object, aliases of the seeds' products, warnings for unknown names."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from shiftmedia.engine import Limits
from shiftmedia.errors import ConfigError, ConfigWarning
from shiftmedia.settings import DEFAULTS, S3Settings, Settings, config_key, is_aws_endpoint, known_names

KEY = "settings-test-secret-0123456789"


def test_store_timeouts_bound_a_miss() -> None:
    """A hung store costs a miss one read timeout (the S3 backend's breaker fails the rest fast)."""
    s3 = Settings.from_values({}).s3
    assert (s3.connect_timeout, s3.read_timeout, s3.max_attempts) == (2.0, 5.0, 3)
    tuned = Settings.from_values({"SHIFTMEDIA_S3_CONNECT_TIMEOUT": "1", "SHIFTMEDIA_S3_READ_TIMEOUT": "7.5"}).s3
    assert (tuned.connect_timeout, tuned.read_timeout) == (1.0, 7.5)


def test_no_values_are_the_defaults() -> None:
    assert Settings.from_values({}) == Settings()
    assert Settings.from_values(dict(DEFAULTS)) == Settings()
    assert Settings().local_public_url == "http://127.0.0.1:8000/media"


def test_every_setting_is_typed() -> None:
    settings = Settings.from_values(
        {
            "SHIFTMEDIA_SECRET_KEYS": f"{KEY}, older-{KEY} ,",
            "SHIFTMEDIA_STORAGE": "S3",
            "SHIFTMEDIA_LOCAL_ROOT": "/srv/media",
            "SHIFTMEDIA_PUBLIC_URL": "https://cdn.example.com/media/",
            "SHIFTMEDIA_SERVICE_URL": "https://app.example.com/media",
            "SHIFTMEDIA_URL_PREFIX": "assets/",
            "SHIFTMEDIA_RESPONSE": "redirect",
            "SHIFTMEDIA_API_TOKENS": "a,b",
            "SHIFTMEDIA_MAX_PIXELS": "1000",
            "SHIFTMEDIA_MAX_OUTPUT_SIDE": "800",
            "SHIFTMEDIA_MAX_CONCURRENT_RESIZES": "3",
            "SHIFTMEDIA_RESIZE_TIMEOUT": "7.5",
            "S3_BUCKET": "media",
            "S3_PREFIX": "img",
            "S3_FORCE_PATH_STYLE": "yes",
            "SHIFTMEDIA_S3_PRIVATE": "true",
            "SHIFTMEDIA_PRESIGN_EXPIRY": "600",
        }
    )
    assert settings.secret_keys == (KEY, f"older-{KEY}")
    assert settings.storage == "s3" and settings.response == "redirect" and settings.url_prefix == "/assets"
    assert settings.public_url == settings.s3.public_url == "https://cdn.example.com/media"
    assert settings.limits == Limits(max_pixels=1000, max_output_side=800)
    assert (settings.max_concurrent_resizes, settings.resize_timeout) == (3, 7.5)
    assert settings.api_tokens == ("a", "b")
    assert settings.s3 == S3Settings(
        bucket="media",
        prefix="img",
        force_path_style=True,
        public_url="https://cdn.example.com/media",
        private=True,
        presign_expiry=600,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SHIFTMEDIA_STORAGE", "gcs"),
        ("SHIFTMEDIA_RESPONSE", "proxy"),
        ("SHIFTMEDIA_MAX_PIXELS", "many"),
        ("SHIFTMEDIA_MAX_PIXELS", "0"),
        ("SHIFTMEDIA_MAX_INPUT_BYTES", "-1"),
        ("SHIFTMEDIA_MAX_DURATION", "0"),
        ("SHIFTMEDIA_MAX_FPS", "29.97"),
        ("SHIFTMEDIA_RESIZE_TIMEOUT", "0"),
        ("SHIFTMEDIA_PUBLIC_URL", "ftp://host/media"),
        ("SHIFTMEDIA_URL_PREFIX", "/"),
        ("S3_ENDPOINT", "minio:9000"),
        ("S3_FORCE_PATH_STYLE", "maybe"),
        ("S3_SSE", "rot13"),
        ("SHIFTMEDIA_PRESIGN_EXPIRY", "0"),
        ("AWS_MAX_ATTEMPTS", "0"),
        ("AWS_RETRY_MODE", "eager"),
    ],
)
def test_bad_values_name_the_setting(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_values({name: value})


def test_partial_credentials_are_refused() -> None:
    with pytest.raises(ConfigError, match="S3_SECRET_ACCESS_KEY"):
        Settings.from_values({"S3_ACCESS_KEY_ID": "AKID"})


def test_seed_spellings_are_aliases() -> None:
    invenio = Settings.from_values({"S3_ENDPOINT_URL": "https://minio.example.com:9000/", "S3_REGION_NAME": "eu-1"})
    assert (invenio.s3.endpoint_url, invenio.s3.region) == ("https://minio.example.com:9000", "eu-1")
    assert Settings.from_values({"S3_SSE": "S3"}).s3.sse == "AES256"
    assert Settings.from_values({"S3_SSE": "KMS", "S3_SSE_KMS_KEY_ID": "k"}).s3.sse == "aws:kms"
    assert Settings.from_values({"S3_SSE": "aws:kms"}).s3.sse == "aws:kms"
    botocore = Settings.from_values({"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9000", "AWS_MAX_ATTEMPTS": "7"})
    assert (botocore.s3.endpoint_url, botocore.s3.max_attempts) == ("http://127.0.0.1:9000", 7)
    assert Settings.from_values({"AWS_RETRY_MODE": "adaptive"}).s3.retry_mode == "adaptive"


def test_our_name_wins_over_its_alias() -> None:
    both = {"S3_ENDPOINT": "http://127.0.0.1:1", "S3_ENDPOINT_URL": "http://127.0.0.1:2"}
    assert Settings.from_values(both).s3.endpoint_url == "http://127.0.0.1:1"


@pytest.mark.parametrize(
    "url",
    ["https://s3.amazonaws.com", "https://s3.us-west-2.amazonaws.com/", "https://s3.dualstack.eu-west-1.amazonaws.com"],
)
def test_an_aws_endpoint_is_aws(url: str) -> None:
    assert is_aws_endpoint(url)
    assert Settings.from_values({"S3_ENDPOINT": url}).s3.endpoint_url is None


@pytest.mark.parametrize(
    ("url", "region"),
    [
        ("https://s3.us-west-2.amazonaws.com/", "us-west-2"),
        ("https://s3.dualstack.eu-west-1.amazonaws.com", "eu-west-1"),
        ("https://s3-ap-southeast-2.amazonaws.com", "ap-southeast-2"),
        ("https://s3.cn-north-1.amazonaws.com.cn", "cn-north-1"),
        ("https://s3.amazonaws.com", None),
    ],
)
def test_an_aws_endpoint_gives_its_region(url: str, region: str | None) -> None:
    assert Settings.from_values({"S3_ENDPOINT_URL": url}).s3.region == region
    assert Settings.from_values({"S3_ENDPOINT_URL": url, "S3_REGION_NAME": "sa-east-1"}).s3.region == "sa-east-1"


@pytest.mark.parametrize("url", ["https://s3.wasabisys.com", "http://127.0.0.1:8333", "https://amazonaws.com.evil.io"])
def test_other_endpoints_are_kept(url: str) -> None:
    assert not is_aws_endpoint(url)
    assert Settings.from_values({"S3_ENDPOINT": url}).s3.endpoint_url == url


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("S3_BUKET", "S3_BUCKET"),
        ("SHIFTMEDIA_SECRET_KEY", "SHIFTMEDIA_SECRET_KEYS"),
        ("SHIFTMEDIA_MAX_PIXEL", "SHIFTMEDIA_MAX_PIXELS"),
        ("S3_ENABLED", "SHIFTMEDIA_STORAGE=s3"),
        ("S3_FORCE_PATHSTYLE", "S3_FORCE_PATH_STYLE"),
    ],
)
def test_unknown_names_warn_with_the_nearest_setting(name: str, suggestion: str) -> None:
    with pytest.warns(ConfigWarning, match=f"unknown setting {name} is ignored; did you mean {suggestion}"):
        Settings.load(environ={name: "x"})


def test_unrelated_and_reserved_names_do_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Settings.load(environ={"HOME": "/root", "AWS_PROFILE": "x", "SHIFTMEDIA_BIND": "127.0.0.1:1", "PATH": "/bin"})


def test_a_name_far_from_every_setting_says_so() -> None:
    with pytest.warns(ConfigWarning, match="S3_MANIFEST_KEY is ignored; it is not a shiftmedia setting"):
        Settings.load(environ={"S3_MANIFEST_KEY": "manifest.json"})


def test_precedence_file_then_environment_then_overrides(tmp_path: Path) -> None:
    config = tmp_path / "shiftmedia.toml"
    config.write_text('SHIFTMEDIA_LOCAL_ROOT = "/from/file"\nSHIFTMEDIA_MAX_PIXELS = 10\nS3_BUCKET = "file"\n')
    env = {"SHIFTMEDIA_CONFIG": str(config), "SHIFTMEDIA_MAX_PIXELS": "20", "S3_BUCKET": "env"}
    settings = Settings.load(environ=env, overrides={"S3_BUCKET": "override"})
    assert settings.local_root == "/from/file"
    assert settings.limits.max_pixels == 20
    assert settings.s3.bucket == "override"


def test_config_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        Settings.load(config_file=tmp_path / "missing.toml", environ={})
    bad = tmp_path / "bad.toml"
    bad.write_text("DATABASE_URL = 'x'\n")
    with pytest.raises(ConfigError, match="unknown setting in"):
        Settings.load(config_file=bad, environ={})


def test_app_config_keys_carry_the_prefix() -> None:
    assert config_key("S3_BUCKET") == "SHIFTMEDIA_S3_BUCKET"
    assert config_key("SHIFTMEDIA_SECRET_KEYS") == "SHIFTMEDIA_SECRET_KEYS"
    assert config_key("SHIFTMEDIA_S3_PRIVATE", "SHIFTMEDIA_PRIVATE_") == "SHIFTMEDIA_PRIVATE_S3_PRIVATE"
    assert len({config_key(name) for name in known_names()}) == len(known_names())
    config = {
        "S3_BUCKET": "the-app-s-own-bucket",
        "SECRET_KEY": "flask's own",
        "SHIFTMEDIA_S3_BUCKET": "ours",
        "SHIFTMEDIA_SECRET_KEYS": KEY,
        "SHIFTMEDIA_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
        "SHIFTMEDIA_MAX_OUTPUT_SIDE": 640,
    }
    settings = Settings.from_app_config(config)
    assert settings.s3.bucket == "ours" and settings.secret_keys == (KEY,)
    assert settings.s3.endpoint_url == "http://127.0.0.1:9000" and settings.limits.max_output_side == 640


def test_unknown_app_config_key_warns() -> None:
    with pytest.warns(ConfigWarning, match="SHIFTMEDIA_S3_BUKET is ignored; did you mean SHIFTMEDIA_S3_BUCKET"):
        Settings.from_app_config({"SHIFTMEDIA_S3_BUKET": "x"})


def test_secrets_stay_out_of_reprs() -> None:
    settings = Settings.from_values({"S3_ACCESS_KEY_ID": "AKID", "S3_SECRET_ACCESS_KEY": "very-secret-value"})
    assert "very-secret-value" not in repr(settings)


def test_video_limits_are_read_like_the_others() -> None:
    settings = Settings.from_values(
        {
            "SHIFTMEDIA_MAX_VIDEO_BYTES": "1048576",
            "SHIFTMEDIA_MAX_DURATION": "60",
            "SHIFTMEDIA_MAX_FPS": "30",
            "SHIFTMEDIA_MAX_DECODE_PIXELS": "5000000",
        }
    )
    assert settings.limits == Limits(max_video_bytes=1048576, max_duration=60, max_fps=30, max_decode_pixels=5_000_000)
    defaults = Settings.from_values({}).limits
    assert (defaults.max_video_bytes, defaults.max_duration, defaults.max_fps) == (512 * 1024 * 1024, 3 * 3600, 240)
    assert defaults.max_decode_pixels == 1000 * 1920 * 1080
