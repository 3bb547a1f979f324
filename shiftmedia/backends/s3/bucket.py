"""Bucket set-up and checks for S3: website 404 routing, CORS, public-read policy.

:func:`website_configuration` sends every 404 of the bucket's website endpoint
to the service, which makes the missing resize and redirects back (shift-media's
workflow). :func:`cors_configuration` lets pages on any origin fetch images;
:func:`bucket_policy` makes the resizes readable by everyone (the originals
too with ``SHIFTMEDIA_PUBLIC_ORIGINALS``), and nothing listable or writable. :func:`apply` puts all three, idempotently;
:func:`check` says in plain words what is wrong with a bucket.
"""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import ClientError

from ...errors import ConfigError, ShiftMediaError
from ..base import Backend
from .backend import S3Backend
from .errors import LIBRARY_ERRORS, error_code

#: First characters of ids (hex): one routing rule each when the bucket has no prefix.
_ID_FIRST_CHARS = "0123456789abcdef"
#: An id folder in a policy's key pattern (``?`` is one character): ``.leases/`` and probes never match.
_ID_FOLDER = "????????/????/????/????/????????????/"
#: What every derivative's name holds and no original's does (``ids.safe_filename`` spells ``up-scale``).
DERIVATIVE_MARKS = ("-upscale-", "-noupscale-")
PROBE_PREFIX = ".shiftmedia-check-"
#: Why a bucket with dots in its name is addressed path-style, as :func:`check` says.
DOTTED_BUCKET = (
    "virtual-host HTTPS certificates (*.s3.<region>.amazonaws.com and the like) do not cover a name with dots, "
    "so requests and URLs use <endpoint>/<bucket>/ instead of <bucket>.<endpoint>/"
)
#: Seconds :func:`check` waits for the store to answer an anonymous read.
ANONYMOUS_CHECK_TIMEOUT = 5.0


def _app_parts(app_url: str, url_prefix: str) -> tuple[str, str, str]:
    """``(protocol, host, key prefix for ReplaceKeyPrefixWith)`` of the service's media endpoint."""
    parts = urlsplit(app_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(f"the app URL must be http(s)://host[/path], not {app_url!r}")
    path = "/".join(p for p in (parts.path.strip("/"), url_prefix.strip("/")) if p)
    return parts.scheme, parts.netloc, f"{path}/" if path else ""


def website_configuration(app_url: str, *, prefix: str = "", url_prefix: str = "/media") -> dict[str, Any]:
    """The bucket website configuration whose 404s redirect (302) to the service.

    A key ``<prefix><id folder>/<name>`` that is missing redirects to
    ``<app_url><url_prefix>/<id folder>/<name>``. Every rule names the key
    prefix it replaces (``KeyPrefixEquals``): AWS accepts a bare
    ``ReplaceKeyPrefixWith``, but some S3-compatible stores then build a wrong
    Location, so without a bucket prefix there is one rule per first character
    of an id. LocalStack (4.13) replaces the first occurrence of
    ``KeyPrefixEquals`` anywhere in the URL, so those one-character rules are
    right there only when the app's ``scheme://host:port`` holds no hex digit;
    with a bucket prefix (``S3_PREFIX``) every store gets it right.
    """
    protocol, host, target = _app_parts(app_url, url_prefix)
    prefixes = [prefix] if prefix else list(_ID_FIRST_CHARS)
    rules = [
        {
            "Condition": {"HttpErrorCodeReturnedEquals": "404", "KeyPrefixEquals": key_prefix},
            "Redirect": {
                "Protocol": protocol,
                "HostName": host,
                "ReplaceKeyPrefixWith": target + ("" if prefix else key_prefix),
                "HttpRedirectCode": "302",
            },
        }
        for key_prefix in prefixes
    ]
    return {
        "IndexDocument": {"Suffix": "index.html"},
        "ErrorDocument": {"Key": "error.html"},
        "RoutingRules": rules,
    }


def cors_configuration(origins: list[str] | None = None) -> dict[str, Any]:
    """CORS for reading images from pages on ``origins`` (default: any)."""
    return {
        "CORSRules": [
            {
                "AllowedMethods": ["GET", "HEAD"],
                "AllowedOrigins": origins or ["*"],
                "AllowedHeaders": ["*"],
                "ExposeHeaders": ["ETag", "Content-Length", "Content-Type"],
                "MaxAgeSeconds": 3600,
            }
        ]
    }


def bucket_policy(bucket: str, prefix: str = "", *, originals: bool = False) -> dict[str, Any]:
    """Public read of the resizes under ``prefix`` (ids' and sources'), and of the ids' originals with ``originals``.

    Nothing else: no listing, no writing, no lease or probe object, no source.
    A policy matches keys with ``*`` and ``?`` only, so a resize is told by the
    marks of :data:`DERIVATIVE_MARKS`, which no original's stored name holds
    (a source sharing the prefix whose own key holds one would be readable
    too). Anonymous readers get 403 for an original (presigned URLs still read
    it) and, on a website endpoint, 404 for a missing key, which the routing
    rule sends to the service.
    """
    base = f"arn:aws:s3:::{bucket}/{prefix}"
    resources = [f"{base}*{mark}*" for mark in DERIVATIVE_MARKS]
    if originals:
        resources.insert(0, f"{base}{_ID_FOLDER}*")
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PublicReadMedia" if originals else "PublicReadResizes",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": resources,
            }
        ],
    }


def documents(
    backend: S3Backend, app_url: str, url_prefix: str = "/media", *, public_originals: bool = False
) -> dict[str, dict[str, Any]]:
    """The three documents :func:`apply` puts, by name."""
    return {
        "website": website_configuration(app_url, prefix=backend.prefix, url_prefix=url_prefix),
        "cors": cors_configuration(),
        "policy": bucket_policy(backend.bucket, backend.prefix, originals=public_originals),
    }


def apply(
    backend: S3Backend,
    app_url: str,
    url_prefix: str = "/media",
    *,
    public: bool = True,
    public_originals: bool = False,
) -> list[str]:
    """Put the website, CORS and (when ``public``) policy documents; return what was set.

    Putting a document replaces the previous one, so running it again changes
    nothing. A public bucket on AWS also needs Block Public Access to allow
    bucket policies; that is relaxed for policies only (ACLs stay blocked).
    """
    docs = documents(backend, app_url, url_prefix, public_originals=public_originals)
    client, bucket = backend.client, backend.bucket
    done = []
    backend.call("put website", None, client.put_bucket_website, Bucket=bucket, WebsiteConfiguration=docs["website"])
    done.append("website configuration with the 404 routing rule")
    backend.call("put CORS", None, client.put_bucket_cors, Bucket=bucket, CORSConfiguration=docs["cors"])
    done.append("CORS rule for GET and HEAD")
    if public:
        block = {
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": False,
            "RestrictPublicBuckets": False,
        }
        if backend.is_aws:  # an AWS-only API: S3-compatible stores lack it or refuse it
            backend.call(
                "put public access block",
                None,
                client.put_public_access_block,
                Bucket=bucket,
                PublicAccessBlockConfiguration=block,
            )
            done.append("Block Public Access relaxed for bucket policies")
        policy = json.dumps(docs["policy"])
        backend.call("put policy", None, client.put_bucket_policy, Bucket=bucket, Policy=policy)
        what = "originals and resizes" if public_originals else "resizes (originals stay private)"
        done.append(f"bucket policy: public read of {what} under {bucket}/{backend.prefix}")
    return done


@dataclass(frozen=True)
class Finding:
    """One line of :func:`check`'s report."""

    ok: bool
    what: str
    detail: str


def check(
    backend: S3Backend, app_url: str | None = None, url_prefix: str = "/media", *, sources: Backend | None = None
) -> list[Finding]:
    """Check credentials, bucket, permissions, the read-only ``sources`` and website set-up; never raises for S3
    failures."""
    findings: list[Finding] = []

    def step(what: str, action: Any) -> Any:
        try:
            result = action()
        except ShiftMediaError as exc:
            findings.append(Finding(False, what, str(exc)))
            return None
        findings.append(Finding(True, what, "ok"))
        return result if result is not None else True

    if step("bucket reachable with these credentials", backend.check) is None:
        return findings
    if "." in backend.bucket:
        findings.append(Finding(True, "path-style addressing (the bucket name has dots)", DOTTED_BUCKET))
    probe = f"{PROBE_PREFIX}{secrets.token_hex(8)}"
    payload = secrets.token_bytes(64)
    if step("write an object (s3:PutObject)", lambda: backend.write(probe, payload)):
        step("read it back (s3:GetObject)", lambda: _same(backend.read(probe), payload))
        step("nothing but resizes is public (originals stay private)", lambda: _not_public(backend, probe))
        step("delete it (s3:DeleteObject)", lambda: backend.delete(probe))
    step("list the bucket (s3:ListBucket)", lambda: next(iter(backend.list()), None) or True)
    if sources is not None:
        step(f"read the sources, {sources} (s3:ListBucket, s3:GetObject)", lambda: _readable(sources))
    if app_url is not None:
        expected = website_configuration(app_url, prefix=backend.prefix, url_prefix=url_prefix)["RoutingRules"]
        step("website 404 routing rule points at the app", lambda: _same_rules(backend, expected))
    return findings


def _readable(sources: Backend) -> None:
    """The sources answer a listing, and a read of the first object listed (if any)."""
    sources.check()
    first = next(iter(sources.list()), None)
    if first is not None:
        with sources.open(first.key) as stream:
            stream.read(1)


def _not_public(backend: S3Backend, key: str) -> None:
    """An anonymous GET of ``key`` (outside any id folder) must be refused: else originals are readable too."""
    url = backend.signed_url(key, 60).split("?", 1)[0]
    try:
        with urllib.request.urlopen(url, timeout=ANONYMOUS_CHECK_TIMEOUT) as answer:
            status = answer.status
    except urllib.error.HTTPError as error:
        status = error.code
    except (urllib.error.URLError, OSError) as error:
        raise ShiftMediaError(f"the bucket could not be read without credentials to check it: {error}") from None
    if status == 200:
        raise ShiftMediaError(
            "anyone can read objects other than resizes, originals included: run shiftmedia s3 setup "
            "(or SHIFTMEDIA_PUBLIC_ORIGINALS=true if that is what you want)"
        )


def _same(got: bytes, expected: bytes) -> None:
    if got != expected:
        raise ShiftMediaError("the object read back differs from what was written")


def _same_rules(backend: S3Backend, expected: list[dict[str, Any]]) -> None:
    try:
        website = backend.client.get_bucket_website(Bucket=backend.bucket)
    except LIBRARY_ERRORS as exc:
        if isinstance(exc, ClientError) and error_code(exc)[0] == "NoSuchWebsiteConfiguration":
            raise ShiftMediaError("the bucket has no website configuration: run shiftmedia s3 setup") from None
        raise backend.translate(exc, "get website", None) from None
    if _normalise(website.get("RoutingRules", [])) != _normalise(expected):
        raise ShiftMediaError("the website routing rules differ from what shiftmedia s3 setup writes")


def _normalise(rules: Sequence[Mapping[str, object]]) -> list[str]:
    return sorted(json.dumps(rule, sort_keys=True) for rule in rules)
