"""The bucket documents: routing rules, CORS, policy, and deploy/s3 kept in step; applying them on AWS (moto)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from shiftmedia.backends.local import LocalBackend
from shiftmedia.backends.s3 import S3Backend, bucket
from shiftmedia.backends.s3.bucket import PROBE_PREFIX, bucket_policy, cors_configuration, website_configuration
from shiftmedia.cli import main
from shiftmedia.errors import ConfigError
from shiftmedia.ids import id_folder, new_id, safe_filename
from shiftmedia.lease import lease_key
from shiftmedia.settings import Settings
from shiftmedia.storage import Storage

from ..conftest import REPO


def test_rule_with_a_bucket_prefix() -> None:
    config = website_configuration("https://media-app.example.com", prefix="media/")
    assert config["RoutingRules"] == [
        {
            "Condition": {"HttpErrorCodeReturnedEquals": "404", "KeyPrefixEquals": "media/"},
            "Redirect": {
                "Protocol": "https",
                "HostName": "media-app.example.com",
                "ReplaceKeyPrefixWith": "media/",
                "HttpRedirectCode": "302",
            },
        }
    ]


def test_rules_without_a_bucket_prefix_name_every_first_character() -> None:
    rules = website_configuration("http://127.0.0.1:8000/app", url_prefix="/m")["RoutingRules"]
    assert len(rules) == 16
    for rule, char in zip(rules, "0123456789abcdef"):
        assert rule["Condition"]["KeyPrefixEquals"] == char
        assert rule["Redirect"]["ReplaceKeyPrefixWith"] == f"app/m/{char}"
        assert rule["Redirect"]["HostName"] == "127.0.0.1:8000"
        assert rule["Redirect"]["HttpRedirectCode"] == "302"


@pytest.mark.parametrize("url", ["ftp://x", "media-app.example.com", "https://x/?a=1", "https:///path"])
def test_rejects_bad_app_urls(url: str) -> None:
    with pytest.raises(ConfigError):
        website_configuration(url)


def arn_matches(pattern: str, key: str, bucket: str = "bucket") -> bool:
    """Does an S3 policy resource match the object ``key``? (``*`` any run of characters, ``/`` included; ``?`` one.)"""
    expression = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(expression, f"arn:aws:s3:::{bucket}/{key}") is not None


def public_keys(policy: dict[str, Any], keys: list[str]) -> list[str]:
    (statement,) = policy["Statement"]
    assert (statement["Effect"], statement["Principal"], statement["Action"]) == ("Allow", "*", "s3:GetObject")
    return [key for key in keys if any(arn_matches(resource, key) for resource in statement["Resource"])]


@pytest.mark.parametrize("prefix", ["media/", ""])
def test_policy_makes_resizes_public_and_nothing_else(prefix: str, tmp_path: Path) -> None:
    storage = Storage(
        LocalBackend(tmp_path, "http://media.test"),
        ["policy-test-secret-key-0123456789"],
        sources=LocalBackend(tmp_path / "sources", "http://media.test"),
    )
    media_id = new_id()
    folder = id_folder(media_id)
    resizes = [
        storage.resize_key(media_id, "400x300", mode="fill", format="webp"),
        storage.resize_key(media_id, (0, 90), upscale=True, format="png"),
        storage.resize_key(media_id, "64x64", mode="crop", rect=(1, 2, 30, 40), gravity="ne", keep_icc=True),
        storage.resize_key("photos/2024/cat.jpg", "400x300", format="jpg"),
        storage.resize_key("uploads/ünï côdé.png", "100x0", upscale=True),
    ]
    originals = [
        f"{folder}/{safe_filename(name, 'jpg')}"
        for name in ("photo.jpg", "400x300-fit-80-noupscale.webp", "a-upscale-b.jpg", "x-noupscale-.jpg", "upscale")
    ]
    others = [lease_key(resizes[0]), lease_key(resizes[3]), f"{PROBE_PREFIX}0123abcd", "index.html", f"{folder}/"]
    others += ["photos/2024/cat.jpg", "uploads/ünï côdé.png"]
    keys = [prefix + key for key in resizes + originals + others]

    assert public_keys(bucket_policy("bucket", prefix), keys) == [prefix + key for key in resizes]
    assert public_keys(bucket_policy("bucket", prefix, originals=True), keys) == [
        prefix + key for key in resizes + originals + [f"{folder}/"]
    ]
    assert cors_configuration()["CORSRules"][0]["AllowedMethods"] == ["GET", "HEAD"]


def test_deploy_files_are_what_the_command_writes(tmp_path: Path) -> None:
    """deploy/s3/*.json is `shiftmedia s3 setup --print` for the documented example bucket."""
    env = {"S3_BUCKET": "example-media-bucket", "S3_PREFIX": "media", "SHIFTMEDIA_CONFIG": ""}
    args = ["s3", "setup", "--print", "--app-url", "https://media-app.example.com", "--out", str(tmp_path)]
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    for name in ("website", "cors", "policy"):
        deployed = REPO / "deploy" / "s3" / f"{name}.json"
        assert deployed.read_text() == (tmp_path / f"{name}.json").read_text(), f"regenerate {deployed}"
        assert json.loads(deployed.read_text()) == printed[name]


@pytest.mark.parametrize("endpoint", ["", "https://s3.amazonaws.com"])
def test_apply_on_aws_relaxes_block_public_access_for_policies(endpoint: str) -> None:
    """FOVEA's ``S3_ENDPOINT=https://s3.amazonaws.com`` is AWS: its bucket needs the policy allowed too."""
    moto = pytest.importorskip("moto")
    values = {
        "S3_BUCKET": "aws-media",
        "S3_PREFIX": "media",
        "S3_REGION": "eu-west-1",
        "S3_ENDPOINT": endpoint,
        "S3_ACCESS_KEY_ID": "AKIDTEST",
        "S3_SECRET_ACCESS_KEY": "moto-secret",
    }
    with moto.mock_aws():
        backend = S3Backend(Settings.from_values(values).s3)
        backend.client.create_bucket(Bucket="aws-media", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        assert backend.is_aws
        done = bucket.apply(backend, "https://media-app.example.com")
        block = backend.client.get_public_access_block(Bucket="aws-media")["PublicAccessBlockConfiguration"]
        policy = json.loads(backend.client.get_bucket_policy(Bucket="aws-media")["Policy"])
    assert "Block Public Access relaxed for bucket policies" in done
    assert block == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": False,
        "RestrictPublicBuckets": False,
    }
    assert policy == bucket_policy("aws-media", "media/")


def test_cloudfront_template_grants_what_the_policy_does() -> None:
    """The CloudFormation bucket policy reads the same keys as ``s3 setup``'s, for either choice."""
    template = (REPO / "deploy" / "cloudformation" / "cloudfront.yaml").read_text()
    for originals in (False, True):
        (statement,) = bucket_policy("BUCKET", "PREFIX/", originals=originals)["Statement"]
        for resource in statement["Resource"]:
            spelt = resource.replace("arn:aws:", "arn:${AWS::Partition}:").replace("BUCKET", "${BucketName}")
            assert f'!Sub "{spelt.replace("PREFIX", "${MediaPrefix}")}"' in template


def test_a_bucket_with_dots_is_addressed_path_style_and_check_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    """V7's Wasabi note: dotted names break virtual-host HTTPS, so every request and URL is path-style."""
    moto = pytest.importorskip("moto")
    from shiftmedia.settings import S3Settings

    # The anonymous read of check() would leave the machine (moto does not see urllib): not here.
    monkeypatch.setattr(bucket, "_not_public", lambda *_args: None)

    with moto.mock_aws():
        backend = S3Backend(
            S3Settings(bucket="media.example.com", region="us-east-1", access_key_id="A", secret_access_key="B")
        )
        backend.client.create_bucket(Bucket="media.example.com")
        urls: list[str] = []
        backend.client.meta.events.register("before-send.s3.*", lambda request, **_: urls.append(request.url))
        backend.write("a/b.jpg", b"x")
        assert backend.read("a/b.jpg") == b"x"
        assert urls and all(url.startswith("https://s3.amazonaws.com/media.example.com/") for url in urls), urls
        assert backend.public_url("a/b.jpg") == "https://s3.amazonaws.com/media.example.com/a/b.jpg"
        findings = {finding.what: finding for finding in bucket.check(backend)}
    dotted = findings["path-style addressing (the bucket name has dots)"]
    assert dotted.ok and "do not cover a name with dots" in dotted.detail
