"""The ``shiftmedia`` command: store, sign, resize and delete from a shell.

Every command reads the same settings as the service (environment, or a TOML
file given with ``--config``), prints one plain line per result or, with
``--json``, one JSON object, and turns every library error into one line on
standard error and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .config import Settings, backend_at, build_storage, load_settings
from .errors import ShiftMediaError
from .spec import FORMATS, GRAVITIES, MODES, ResizeSpec
from .storage import Storage

EXIT_ERROR = 1


class _Group(click.Group):
    """A group that reports library errors as one line, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ShiftMediaError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(EXIT_ERROR)


json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")


def _gravity(_ctx: click.Context, _param: click.Parameter, value: str) -> str | tuple[float, float]:
    """A compass point, or a focal point written ``X,Y`` in fractions (``0.3,0.6``)."""
    if value in GRAVITIES:
        return value
    try:
        x, y = (float(part) for part in value.split(","))
    except ValueError:
        raise click.BadParameter(f"use one of {', '.join(GRAVITIES)} or X,Y fractions such as 0.3,0.6") from None
    return (x, y)


def _rect(_ctx: click.Context, _param: click.Parameter, value: str | None) -> tuple[int, int, int, int] | None:
    """A crop rectangle written ``X,Y,W,H`` in source pixels."""
    if value is None:
        return None
    try:
        x, y, w, h = (int(part) for part in value.split(","))
    except ValueError:
        raise click.BadParameter("use X,Y,WIDTH,HEIGHT in pixels, e.g. 100,50,800,600") from None
    return (x, y, w, h)


def resize_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options every resize-making command shares, passed on as ``options``."""
    for decorator in reversed(
        [
            click.option("--mode", type=click.Choice(MODES), default="fit", show_default=True),
            click.option("--quality", type=click.IntRange(1, 100), help="1-100 (lossy formats); default per format."),
            click.option("--upscale/--no-upscale", default=False, show_default=True, help="Enlarge small originals."),
            click.option(
                "--gravity",
                default="c",
                show_default=True,
                callback=_gravity,
                help=f"fill/crop/pad anchor: {', '.join(GRAVITIES)}, or a focal point X,Y (fractions).",
            ),
            click.option("--background", help="Pad and JPEG-flatten colour, rrggbb or rrggbbaa."),
            click.option("--rect", callback=_rect, help="crop mode's source rectangle X,Y,W,H in pixels."),
            click.option(
                "--keep-icc", is_flag=True, help="Keep the source's ICC profile instead of converting to sRGB."
            ),
        ]
    ):
        command = decorator(command)
    return command


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
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


def _settings(ctx: click.Context) -> Settings:
    return load_settings(config_file=ctx.find_root().obj)


def _storage(ctx: click.Context) -> Storage:
    return build_storage(_settings(ctx))


def _emit(as_json: bool, payload: dict[str, Any], text: str) -> None:
    click.echo(json.dumps(payload, sort_keys=True) if as_json else text)


@main.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", help="File name to store under (default: the file's own name).")
@json_option
@click.pass_context
def put(ctx: click.Context, path: Path, name: str | None, as_json: bool) -> None:
    """Store the image at PATH as a new original; print its id and URL."""
    storage = _storage(ctx)
    media_id = storage.put(path, filename=name)
    url = storage.original_url(media_id)
    _emit(as_json, {"id": media_id, "url": url}, f"{media_id}\n{url}")


@main.command()
@click.argument("media_id", metavar="ID")
@click.argument("size")
@resize_options
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Output format  [default: webp]")
@json_option
@click.pass_context
def url(ctx: click.Context, media_id: str, size: str, fmt: str | None, as_json: bool, **options: Any) -> None:
    """Print the signed URL of ID resized to SIZE (WxH, 0 for an auto side)."""
    storage = _storage(ctx)
    key = storage.resize_key(media_id, size, format=fmt, **options)
    address = storage.backend.public_url(key)
    _emit(as_json, {"url": address, "key": key}, address)


@main.command()
@click.argument("url_or_key")
@json_option
@click.pass_context
def resize(ctx: click.Context, url_or_key: str, as_json: bool) -> None:
    """Create the derivative a signed URL or key names (now, not on first request)."""
    made = _storage(ctx).create_resize(url_or_key)
    payload = {"key": made.key, "width": made.width, "height": made.height, "format": made.format, "bytes": made.size}
    verb = "created" if made.created else "exists"
    _emit(as_json, payload, f"{verb} {made.key} ({made.width}x{made.height} {made.format}, {made.size} bytes)")


@main.command()
@click.argument("media_id", metavar="ID")
@json_option
@click.pass_context
def delete(ctx: click.Context, media_id: str, as_json: bool) -> None:
    """Delete the original ID and every derivative of it."""
    count = _storage(ctx).delete(media_id)
    _emit(as_json, {"id": media_id, "deleted": count}, f"deleted {count} objects of {media_id}")


@main.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--size", required=True, help="WxH, 0 for an auto side.")
@resize_options
@json_option
@click.pass_context
def convert(ctx: click.Context, source: Path, target: Path, size: str, as_json: bool, **options: Any) -> None:
    """Resize the image file SOURCE into TARGET (format from its extension); no storage."""
    from .engine import render

    spec = ResizeSpec.create(size, format=target.suffix.lstrip(".") or None, **options)
    made = render(source.read_bytes(), spec, _settings(ctx).limits)
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
    _emit(as_json, payload, f"{target} ({made.width}x{made.height} {made.format}, {len(made.data)} bytes)")


@main.command()
@click.option("--from", "source", required=True, metavar="LOCATION", help="local:PATH or s3://BUCKET[/PREFIX]")
@click.option("--to", "target", required=True, metavar="LOCATION", help="local:PATH or s3://BUCKET[/PREFIX]")
@click.option("--derivatives", is_flag=True, help="Copy resizes too (by default only originals).")
@click.option("--dry-run", is_flag=True, help="Report what would be copied; copy nothing.")
@json_option
@click.pass_context
def migrate(ctx: click.Context, source: str, target: str, derivatives: bool, dry_run: bool, as_json: bool) -> None:
    """Copy media between backends with the same keys, verifying every copy.

    S3 locations take endpoint, region and credentials from the S3_* settings.
    Objects already on the target with the same size and SHA-256 are skipped,
    so running it again resumes an interrupted migration. Exits 1 if any
    object failed to copy or verify.
    """
    from tqdm import tqdm

    from .migrate import migrate as run_migration
    from .migrate import selected

    settings = _settings(ctx)
    source_backend, target_backend = backend_at(source, settings), backend_at(target, settings)
    todo = list(selected(source_backend, derivatives))
    with tqdm(
        total=sum(info.size for info in todo),
        unit="B",
        unit_scale=True,
        desc="dry run" if dry_run else "migrating",
        disable=as_json or None,
    ) as bar:
        report = run_migration(
            source_backend,
            target_backend,
            derivatives=derivatives,
            dry_run=dry_run,
            progress=lambda info: bar.update(info.size),
        )
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
    _emit(as_json, payload, "\n".join(lines))
    if not report.ok:
        sys.exit(EXIT_ERROR)


@main.group()
def s3() -> None:
    """Set up and check an S3 bucket for shiftmedia (S3_* settings)."""


def _s3_backend(ctx: click.Context) -> Any:
    from .backends.s3 import S3Backend

    return S3Backend.from_env(_settings(ctx).values)


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
    ctx: click.Context, app_url: str, url_prefix: str, private: bool, print_only: bool, out: Path | None, as_json: bool
) -> None:
    """Apply the bucket's website 404 routing rule, CORS rule and public-read policy.

    Idempotent: running it again leaves the bucket as it is.
    """
    from . import bucket

    backend = _s3_backend(ctx)
    if print_only:
        docs = bucket.documents(backend, app_url, url_prefix)
        if private:
            del docs["policy"]
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            for name, doc in docs.items():
                (out / f"{name}.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        click.echo(json.dumps(docs, indent=None if as_json else 2, sort_keys=True))
        return
    done = bucket.apply(backend, app_url, url_prefix, public=not private)
    _emit(as_json, {"bucket": backend.bucket, "applied": done}, "\n".join(f"set {item}" for item in done))


@s3.command()
@click.option("--app-url", help="Also check that the website routing rule points at this service.")
@click.option("--url-prefix", default="/media", show_default=True)
@json_option
@click.pass_context
def check(ctx: click.Context, app_url: str | None, url_prefix: str, as_json: bool) -> None:
    """Check credentials, bucket, permissions and website set-up; say what is wrong."""
    from . import bucket

    findings = bucket.check(_s3_backend(ctx), app_url, url_prefix)
    payload = {"ok": all(f.ok for f in findings), "checks": [vars(f) for f in findings]}
    _emit(as_json, payload, "\n".join(f"{'ok  ' if f.ok else 'FAIL'} {f.what}: {f.detail}" for f in findings))
    if not payload["ok"]:
        sys.exit(EXIT_ERROR)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--debug", is_flag=True, help="Flask debug mode (reloader, tracebacks): development only.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, debug: bool) -> None:
    """Run the development server (use gunicorn 'shiftmedia_webapp:create_app()' in production)."""
    from shiftmedia_webapp import create_app

    settings = _settings(ctx)
    build_storage(settings).backend.check()
    create_app(dict(settings.values)).run(host=host, port=port, debug=debug)
