"""The ``shiftmedia`` command: store, sign, resize and delete from a shell.

Every command reads the same settings as the service (environment, or a TOML
file given with ``--config``), prints one plain line per result or, with
``--json``, one JSON object, and turns every library error into one line on
standard error and a non-zero exit status, never a traceback. The storage
verbs live in :mod:`shiftmedia.commands`, shared with ``flask shiftmedia``.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from .batch import BATCH_COMMANDS
from .commands import (
    EXIT_ERROR,
    STORAGE_COMMANDS,
    OneLineErrors,
    emit,
    json_option,
    note_ignored_quality,
    resize_options,
    settings_of,
    storage_of,
    use_storage,
)
from .spec import ResizeSpec
from .storage import Storage


@click.group(
    cls=OneLineErrors,
    commands=(*STORAGE_COMMANDS, *BATCH_COMMANDS),
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="SHIFTMEDIA_CONFIG",
    help="TOML file of SHIFTMEDIA_*/S3_* settings (the environment overrides it).",
)
@click.version_option(package_name="shiftmedia")
@click.pass_context
def main(ctx: click.Context, config_file: Path | None) -> None:
    """Signed, on-the-fly image resizes stored beside their originals."""
    ctx.obj = config_file


@main.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--size", help="WxH, 0 for an auto side  [default: the source's own size]")
@resize_options
@json_option
@click.pass_context
def convert(ctx: click.Context, /, source: Path, target: Path, size: str | None, as_json: bool, **options: Any) -> None:
    """Resize the image file SOURCE into TARGET (format from its extension); no storage."""
    from .engine import probe, render

    limits = settings_of(ctx).limits
    data = source.read_bytes()
    if size is None:
        info = probe(data, limits)
        size = f"{info.width}x{info.height}"
    spec = ResizeSpec.create(size, format=target.suffix.lstrip(".") or None, **options)
    note_ignored_quality(spec.format, options.get("quality"))
    made = render(data, spec, limits)
    try:
        target.write_bytes(made.data)
    except OSError as exc:
        raise click.ClickException(f"cannot write {target}: {exc.strerror}") from None
    payload = {
        "path": str(target),
        "width": made.width,
        "height": made.height,
        "format": made.format,
        "bytes": len(made.data),
    }
    emit(as_json, payload, f"{target} ({made.width}x{made.height} {made.format}, {len(made.data)} bytes)")


@main.command()
@click.option("--from", "source", required=True, metavar="LOCATION", help="local:PATH or s3://BUCKET[/PREFIX]")
@click.option("--to", "target", required=True, metavar="LOCATION", help="local:PATH or s3://BUCKET[/PREFIX]")
@click.option("--derivatives", is_flag=True, help="Copy resizes too (by default only originals).")
@click.option("--dry-run", is_flag=True, help="Report what would be copied; copy nothing.")
@json_option
@click.pass_context
def migrate(ctx: click.Context, /, source: str, target: str, derivatives: bool, dry_run: bool, as_json: bool) -> None:
    """Copy media between backends with the same keys, verifying every copy.

    S3 locations take endpoint, region and credentials from the S3_* settings.
    Objects already on the target with the same size and SHA-256 are skipped,
    so running it again resumes an interrupted migration. Exits 1 if any
    object failed to copy or verify.
    """
    from tqdm import tqdm

    from .migrate import Migration

    migration = Migration.between(source, target, settings_of(ctx), derivatives=derivatives, dry_run=dry_run)
    with tqdm(
        total=migration.total_bytes,
        unit="B",
        unit_scale=True,
        desc="dry run" if dry_run else "migrating",
        disable=as_json or None,
    ) as bar:
        report = migration.run(progress=lambda info: bar.update(info.size))
    payload = {
        "copied": report.copied,
        "skipped": report.skipped,
        "failed": [{"key": key, "error": error} for key, error in report.failed],
        "bytes": report.bytes,
        "dry_run": dry_run,
    }
    verb = "would copy" if dry_run else "copied"
    lines = [
        f"{verb} {report.copied} objects ({report.bytes} bytes), skipped {report.skipped}, failed {len(report.failed)}"
    ]
    lines += [f"failed: {key}: {error}" for key, error in report.failed]
    emit(as_json, payload, "\n".join(lines))
    if not report.ok:
        sys.exit(EXIT_ERROR)


@main.command()
@click.option("--retired", is_flag=True, required=True, help="Derivatives no current secret key verifies.")
@click.option("--delete", "really", is_flag=True, help="Delete them (without it: a dry run that only lists).")
@json_option
@click.pass_context
def prune(ctx: click.Context, /, retired: bool, really: bool, as_json: bool) -> None:
    """List (or, with --delete, remove) derivatives signed with retired keys.

    After a key is removed from SHIFTMEDIA_SECRET_KEYS the service answers its
    URLs 403, but the objects stay in the bucket (and CDN) until pruned.
    """
    from tqdm import tqdm

    storage = storage_of(ctx)
    found: list[str] = []
    with tqdm(unit=" keys", desc="deleting" if really else "dry run", disable=as_json or None) as bar:
        for key in storage.retired_derivatives():
            if really:
                storage.remove(key)
            found.append(key)
            bar.update(1)
    verb = "deleted" if really else "would delete"
    emit(
        as_json,
        {"keys": found, "deleted": len(found) if really else 0, "dry_run": not really},
        "\n".join([*found, f"{verb} {len(found)} derivatives signed with retired keys"]),
    )


@main.group()
def s3() -> None:
    """Set up and check an S3 bucket for shiftmedia (S3_* settings)."""


@s3.command()
@click.option("--app-url", required=True, help="Base URL of the shiftmedia service, e.g. https://media-app.example.com")
@click.option("--url-prefix", default="/media", show_default=True, help="Where the service mounts its media endpoint.")
@click.option("--private", is_flag=True, help="No public-read policy (serve through presigned URLs).")
@click.option("--print", "print_only", is_flag=True, help="Print the documents instead of applying them.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="With --print: write website.json, cors.json, policy.json here.",
)
@json_option
@click.pass_context
def setup(
    ctx: click.Context,
    /,
    app_url: str,
    url_prefix: str,
    private: bool,
    print_only: bool,
    out: Path | None,
    as_json: bool,
) -> None:
    """Apply the bucket's website 404 routing rule, CORS rule and public-read policy.

    Idempotent: running it again leaves the bucket as it is.
    """
    from . import provision

    settings = settings_of(ctx)
    if print_only:
        docs = provision.bucket_documents(settings, app_url, url_prefix, public=not private)
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            for name, doc in docs.items():
                (out / f"{name}.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        click.echo(json.dumps(docs, indent=None if as_json else 2, sort_keys=True))
        return
    bucket, done = provision.set_up_bucket(settings, app_url, url_prefix, public=not private)
    emit(as_json, {"bucket": bucket, "applied": done}, "\n".join(f"set {item}" for item in done))


@s3.command()
@click.option("--app-url", help="Also check that the website routing rule points at this service.")
@click.option("--url-prefix", default="/media", show_default=True)
@json_option
@click.pass_context
def check(ctx: click.Context, /, app_url: str | None, url_prefix: str, as_json: bool) -> None:
    """Check credentials, bucket, permissions and website set-up; say what is wrong."""
    from . import provision

    findings = provision.check_bucket(settings_of(ctx), app_url, url_prefix)
    payload = {"ok": all(f.ok for f in findings), "checks": [vars(f) for f in findings]}
    emit(as_json, payload, "\n".join(f"{'ok  ' if f.ok else 'FAIL'} {f.what}: {f.detail}" for f in findings))
    if not payload["ok"]:
        sys.exit(EXIT_ERROR)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--debug", is_flag=True, help="Flask debug mode (reloader, tracebacks): development only.")
@click.option(
    "--demo-upload/--no-demo-upload",
    default=True,
    show_default=True,
    help="The demo page's upload form (with SHIFTMEDIA_API_TOKENS set, it asks for a token).",
)
@click.pass_context
def serve(ctx: click.Context, /, host: str, port: int, debug: bool, demo_upload: bool) -> None:
    """Run the development server (use gunicorn -c python:shiftmedia_webapp.gunicorn_conf in production)."""
    from shiftmedia_webapp import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = replace(settings_of(ctx), demo_upload=demo_upload)
    if settings.public_url is None and settings.storage == "local":
        settings = replace(settings, public_url=serve_public_url(host, port, settings.url_prefix))
        use_storage(ctx, Storage.from_settings(settings))
    if not ipaddress_is_loopback(host):
        click.echo(
            f"WARNING: {host}:{port} is reachable from the network, and this is the development server: it "
            "neither buffers nor times out slow clients. Expose the service only through a buffering front "
            "(deploy/nginx) with gunicorn -c python:shiftmedia_webapp.gunicorn_conf.",
            err=True,
        )
        if demo_upload and not settings.api_tokens:
            click.echo(
                "WARNING: the demo upload is OPEN to anyone who can reach it. Set SHIFTMEDIA_API_TOKENS to "
                "require a token, or pass --no-demo-upload.",
                err=True,
            )
    storage = storage_of(ctx)
    storage.check()
    create_app(settings=settings, storage=storage).run(host=host, port=port, debug=debug)


def serve_public_url(host: str, port: int, url_prefix: str) -> str:
    """The development server's own media URL: its host and port (loopback when bound to every address)."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return f"http://{host}:{port}{url_prefix}"
    if address.is_unspecified:
        return f"http://127.0.0.1:{port}{url_prefix}"
    shown = f"[{address}]" if address.version == 6 else str(address)
    return f"http://{shown}:{port}{url_prefix}"


def ipaddress_is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
