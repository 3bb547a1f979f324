"""Bucket set-up (``shiftmedia.backends.s3.bucket``, ``shiftmedia s3 setup/check``) against a real LocalStack S3.

LocalStack is the S3 server here with bucket website endpoints, so these
tests see the 404 routing rule do its job: a missing key asked of the website
endpoint answers ``302`` to the service's media endpoint, an existing one
answers ``200`` with its bytes.

LocalStack 4.13.1 builds the redirect by replacing the first occurrence of
``KeyPrefixEquals`` in the *whole* request URL after swapping in the rule's
host, where AWS replaces the start of the key. Rules with a bucket prefix
(``media/``) are right on both, since a host never holds a ``/``. The
sixteen one-character rules written without a bucket prefix are right on
LocalStack only when the app's ``scheme://host[:port]`` holds none of
``0-9a-f``; the tests of that shape use such a host, and one test (an
expected failure) records the LocalStack behaviour for a host that does.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from click.testing import CliRunner, Result

from shiftmedia.backends.s3 import S3Backend, bucket
from shiftmedia.cli import main
from shiftmedia.ids import new_id
from shiftmedia.storage import Storage
from tests.servers.localstack_fixtures import WebsiteBucket

pytestmark = pytest.mark.integration

SECRET_KEYS = ["bucket-setup-test-key-0123456789abcdef"]
#: A realistic service address: digits in the host and a port.
APP_URL = "http://127.0.0.1:8000"
#: An app address with a path of its own before the media endpoint.
APP_URL_WITH_PATH = "https://apps.example.com:8443/img"
#: No character of ``0-9a-f`` in ``scheme://host``: see the module docstring.
HEX_FREE_APP_URL = "https://img.tools.xyz"
HEX = "0123456789abcdef"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def media_id(first: str = "") -> str:
    """A fresh id, starting with ``first`` when given."""
    value = new_id()
    return first + value[len(first) :]


def derivative_key(backend: S3Backend, first: str = "") -> str:
    """A signed derivative key (relative to the backend's prefix) of a fresh id."""
    return Storage(backend, SECRET_KEYS).resize_key(media_id(first), "400x300", format="webp")


def full_key(backend: S3Backend, key: str) -> str:
    """The object key in the bucket: the backend's prefix, then ``key``."""
    return backend.prefix + key


def bucket_state(backend: S3Backend) -> dict[str, Any]:
    """The website, CORS and policy documents the bucket holds now."""
    client = backend.client
    website = client.get_bucket_website(Bucket=backend.bucket)
    website.pop("ResponseMetadata", None)
    cors = client.get_bucket_cors(Bucket=backend.bucket)
    cors.pop("ResponseMetadata", None)
    policy = json.loads(client.get_bucket_policy(Bucket=backend.bucket)["Policy"])
    return {"website": website, "cors": cors, "policy": policy}


@pytest.fixture(params=["media", ""], ids=["prefix-media", "no-prefix"])
def backend(request: pytest.FixtureRequest, website_bucket: WebsiteBucket) -> S3Backend:
    """The website bucket's backend, with the prefix ``media/`` or with none (the sixteen-rule shape)."""
    return website_bucket.backend_with(prefix=request.param)


# -- apply -------------------------------------------------------------------------------------------------------


def test_apply_puts_exactly_the_documents(backend: S3Backend) -> None:
    done = bucket.apply(backend, APP_URL)

    assert bucket_state(backend) == bucket.documents(backend, APP_URL)
    assert done == [
        "website configuration with the 404 routing rule",
        "CORS rule for GET and HEAD",
        f"bucket policy: public read of resizes (originals stay private) under {backend.bucket}/{backend.prefix}",
    ]


def test_rule_shapes(website_bucket: WebsiteBucket) -> None:
    with_prefix = bucket.documents(website_bucket.backend, APP_URL)["website"]["RoutingRules"]
    without = bucket.documents(website_bucket.backend_with(prefix=""), APP_URL)["website"]["RoutingRules"]

    assert [rule["Condition"]["KeyPrefixEquals"] for rule in with_prefix] == ["media/"]
    assert [rule["Condition"]["KeyPrefixEquals"] for rule in without] == list(HEX)
    assert all("KeyPrefixEquals" in rule["Condition"] for rule in with_prefix + without)


def test_apply_twice_leaves_the_same_state(backend: S3Backend) -> None:
    first = bucket.apply(backend, APP_URL)
    state = bucket_state(backend)

    second = bucket.apply(backend, APP_URL)

    assert second == first
    assert bucket_state(backend) == state


def test_apply_with_another_app_url_replaces_the_rules(backend: S3Backend) -> None:
    bucket.apply(backend, APP_URL)
    bucket.apply(backend, APP_URL_WITH_PATH)

    assert bucket_state(backend) == bucket.documents(backend, APP_URL_WITH_PATH)


# -- check -------------------------------------------------------------------------------------------------------


ROUTING = "website 404 routing rule points at the app"
#: LocalStack's community S3 lets anyone read any object whatever the policy, and the check says so
#: (SeaweedFS enforces the policy: tests/backends/test_s3_cli.py sees this check pass).
PUBLIC = "nothing but resizes is public (originals stay private)"


def test_check_reports_the_missing_routing_rule_before_setup(backend: S3Backend) -> None:
    findings = {f.what: f for f in bucket.check(backend, APP_URL)}

    assert not findings[ROUTING].ok
    assert "shiftmedia s3 setup" in findings[ROUTING].detail
    assert not findings[PUBLIC].ok and "originals included" in findings[PUBLIC].detail
    assert all(f.ok for what, f in findings.items() if what not in (ROUTING, PUBLIC))


def test_check_is_all_ok_after_setup(backend: S3Backend) -> None:
    bucket.apply(backend, APP_URL)

    findings = bucket.check(backend, APP_URL)

    assert [f.what for f in findings if not f.ok] == [PUBLIC]
    assert ROUTING in [f.what for f in findings]


def test_check_reports_rules_for_another_app(backend: S3Backend) -> None:
    bucket.apply(backend, APP_URL)

    findings = {f.what: f for f in bucket.check(backend, APP_URL_WITH_PATH)}

    assert not findings[ROUTING].ok
    assert "differ" in findings[ROUTING].detail


def test_check_leaves_no_probe_object(backend: S3Backend) -> None:
    bucket.apply(backend, APP_URL)
    bucket.check(backend, APP_URL)

    listing = backend.client.list_objects_v2(Bucket=backend.bucket)
    assert [item["Key"] for item in listing.get("Contents", [])] == []


# -- the redirect through the website endpoint -------------------------------------------------------------------


@pytest.mark.parametrize("app_url", [APP_URL, APP_URL_WITH_PATH, HEX_FREE_APP_URL])
@pytest.mark.parametrize("first", ["1", "8", "f"])
def test_missing_key_under_the_prefix_redirects_to_the_service(
    website_bucket: WebsiteBucket, app_url: str, first: str
) -> None:
    backend = website_bucket.backend
    bucket.apply(backend, app_url)
    key = derivative_key(backend, first)

    answer = website_bucket.get(full_key(backend, key))

    assert answer.status == 302
    assert answer.location == f"{app_url}/media/{key}"


@pytest.mark.parametrize("source", ["photos/2024/cat.jpg", "uploads/with space/ünïcödé + 100%.png"])
def test_a_missing_resize_of_a_source_redirects_to_the_service(website_bucket: WebsiteBucket, source: str) -> None:
    """A bucket laid out by another application: a source's missing resize is sent to the service too."""
    backend = website_bucket.backend
    bucket.apply(backend, APP_URL)
    backend.client.put_object(Bucket=backend.bucket, Key=full_key(backend, source), Body=b"not read here")
    key = Storage(backend, SECRET_KEYS).resize_key(source, "400x300", format="webp")

    answer = website_bucket.get(full_key(backend, key))

    assert answer.status == 302
    assert unquote(answer.location) == f"{APP_URL}/media/{key}"


@pytest.mark.parametrize("first", list(HEX))
def test_missing_key_without_prefix_redirects_by_every_rule(website_bucket: WebsiteBucket, first: str) -> None:
    backend = website_bucket.backend_with(prefix="")
    bucket.apply(backend, HEX_FREE_APP_URL)
    key = derivative_key(backend, first)

    answer = website_bucket.get(key)

    assert answer.status == 302
    assert answer.location == f"{HEX_FREE_APP_URL}/media/{key}"


def test_missing_key_outside_the_prefix_is_not_redirected(website_bucket: WebsiteBucket) -> None:
    backend = website_bucket.backend
    bucket.apply(backend, APP_URL)
    key = derivative_key(backend)

    answer = website_bucket.get(f"other/{key}")

    assert answer.status == 404
    assert answer.location is None


@pytest.mark.parametrize("prefix", ["media", ""])
def test_existing_object_is_served_by_the_bucket(website_bucket: WebsiteBucket, prefix: str) -> None:
    backend = website_bucket.backend_with(prefix=prefix)
    bucket.apply(backend, HEX_FREE_APP_URL)
    data = (FIXTURES / "webp_alpha_300x300.webp").read_bytes()
    key = derivative_key(backend)
    backend.write(key, data)

    answer = website_bucket.get(full_key(backend, key))

    assert answer.status == 200
    assert answer.body == data
    assert answer.headers["content-type"] == "image/webp"
    assert answer.location is None


def test_public_url_of_the_backend_is_its_website_endpoint(website_bucket: WebsiteBucket) -> None:
    backend = website_bucket.backend
    key = derivative_key(backend)

    assert backend.public_url(key) == website_bucket.server.website_url(website_bucket.name, f"media/{key}")


# -- the command line --------------------------------------------------------------------------------------------


@pytest.fixture
def cli(website_bucket: WebsiteBucket) -> Callable[..., Result]:
    """Run ``shiftmedia`` with ``S3_*`` pointing at the website bucket (prefix ``media``), nothing else set."""
    server = website_bucket.server
    env: dict[str, str | None] = {name: None for name in os.environ if name.startswith(("S3_", "SHIFTMEDIA_", "AWS_"))}
    env.update(
        {
            "S3_ENDPOINT": server.endpoint,
            "S3_BUCKET": website_bucket.name,
            "S3_PREFIX": "media",
            "S3_ACCESS_KEY_ID": server.access_key,
            "S3_SECRET_ACCESS_KEY": server.secret_key,
            "S3_REGION": "us-east-1",
            "S3_FORCE_PATH_STYLE": "true",
        }
    )

    def run(*args: str) -> Result:
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)

    return run


def test_cli_check_fails_before_setup(cli: Callable[..., Result]) -> None:
    result = cli("s3", "check", "--app-url", APP_URL, "--json")

    assert result.exit_code != 0
    report = json.loads(result.output)
    assert report["ok"] is False
    failed = [item["what"] for item in report["checks"] if not item["ok"]]
    assert failed == [PUBLIC, ROUTING]


def test_cli_setup_then_check_then_redirect(cli: Callable[..., Result], website_bucket: WebsiteBucket) -> None:
    setup = cli("s3", "setup", "--app-url", APP_URL, "--json")
    assert setup.exit_code == 0, setup.output
    assert json.loads(setup.output) == {
        "bucket": website_bucket.name,
        "applied": [
            "website configuration with the 404 routing rule",
            "CORS rule for GET and HEAD",
            f"bucket policy: public read of resizes (originals stay private) under {website_bucket.name}/media/",
        ],
    }
    assert bucket_state(website_bucket.backend) == bucket.documents(website_bucket.backend, APP_URL)

    check = cli("s3", "check", "--app-url", APP_URL, "--json")
    report = json.loads(check.output)
    assert [item["what"] for item in report["checks"] if not item["ok"]] == [PUBLIC], check.output
    assert ROUTING in [item["what"] for item in report["checks"]]

    key = derivative_key(website_bucket.backend)
    answer = website_bucket.get(f"media/{key}")
    assert (answer.status, answer.location) == (302, f"{APP_URL}/media/{key}")


def test_cli_setup_twice_is_idempotent(cli: Callable[..., Result], website_bucket: WebsiteBucket) -> None:
    first = cli("s3", "setup", "--app-url", APP_URL, "--json")
    state = bucket_state(website_bucket.backend)
    second = cli("s3", "setup", "--app-url", APP_URL, "--json")

    assert (first.exit_code, second.exit_code) == (0, 0)
    assert first.output == second.output
    assert bucket_state(website_bucket.backend) == state
