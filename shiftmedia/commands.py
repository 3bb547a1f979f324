"""The storage verbs shared by ``shiftmedia`` and ``flask shiftmedia``: put, url, resize, info, delete.

Each command asks the invocation for its :class:`~shiftmedia.storage.Storage`
(:func:`storage_of`): the one an embedding app gave (:func:`use_storage`), or
one built once from the settings (:func:`settings_of`). Results are one plain
line or, with ``--json``, one JSON object; library errors are one line on
standard error and exit status 1 (:class:`OneLineErrors`), never a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from .errors import ShiftMediaError
from .settings import Settings
from .spec import DEFAULT_FORMAT, FORMATS, GRAVITIES, LOSSY_FORMATS, MODES
from .storage import Storage

EXIT_ERROR = 1
_SETTINGS = "shiftmedia.settings"
_STORAGE = "shiftmedia.storage"


class OneLineErrors(click.Group):
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
            click.option(
                "--time",
                type=click.FloatRange(0, min_open=True),
                help="A video's frame at this time, in seconds  [default: a representative frame]",
            ),
        ]
    ):
        command = decorator(command)
    return command


def note_ignored_quality(fmt: str, quality: int | None) -> None:
    """Say on standard error that ``--quality`` does nothing for a lossless format."""
    fmt = "jpg" if fmt.lower() == "jpeg" else fmt.lower()
    if quality is not None and fmt not in LOSSY_FORMATS:
        click.echo(f"note: --quality is ignored: {fmt} is lossless", err=True)


def settings_of(ctx: click.Context) -> Settings:
    """The settings of this invocation, parsed once."""
    if _SETTINGS not in ctx.meta:
        ctx.meta[_SETTINGS] = Settings.load(config_file=ctx.find_root().obj)
    settings: Settings = ctx.meta[_SETTINGS]
    return settings


def storage_of(ctx: click.Context) -> Storage:
    """The storage of this invocation: the one :func:`use_storage` gave, or one built from the settings."""
    if _STORAGE not in ctx.meta:
        use_storage(ctx, Storage.from_settings(settings_of(ctx)))
    storage: Storage = ctx.meta[_STORAGE]
    return storage


def use_storage(ctx: click.Context, storage: Storage) -> None:
    """Make the commands under ``ctx`` use ``storage`` (an embedding app's, for ``flask shiftmedia``)."""
    ctx.meta[_STORAGE] = storage


def emit(as_json: bool, payload: dict[str, Any], text: str) -> None:
    click.echo(json.dumps(payload, sort_keys=True) if as_json else text)


@click.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", help="File name to store under (default: the file's own name).")
@click.option("--preset", "presets", multiple=True, help="Make this preset now too (repeatable).")
@json_option
@click.pass_context
def put(ctx: click.Context, /, path: Path, name: str | None, presets: tuple[str, ...], as_json: bool) -> None:
    """Store the image at PATH as a new original; print its id and URL (and its presets' URLs)."""
    storage = storage_of(ctx)
    media_id = storage.put(path, filename=name, presets=presets)
    url = storage.original_url(media_id)
    made = {preset: storage.resize_url(media_id, preset=preset) for preset in presets}
    payload: dict[str, Any] = {"id": media_id, "url": url, **({"presets": made} if made else {})}
    emit(as_json, payload, "\n".join([media_id, url, *(f"{p} {u}" for p, u in made.items())]))


@click.command()
@click.argument("media_id", metavar="ID")
@click.argument("size", required=False)
@click.option("--preset", help="A resize named in SHIFTMEDIA_PRESETS, instead of SIZE and its options.")
@resize_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice([*FORMATS, "jpeg"], case_sensitive=False),
    help="Output format  [default: webp]",
)
@json_option
@click.pass_context
def url(
    ctx: click.Context,
    /,
    media_id: str,
    size: str | None,
    preset: str | None,
    fmt: str | None,
    as_json: bool,
    **options: Any,
) -> None:
    """Print the signed URL of ID resized to SIZE (WxH, 0 for an auto side), or to a --preset."""
    storage = storage_of(ctx)
    if preset is not None:
        given = [name for name in (*options, "fmt") if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE]
        if size is not None or given:
            raise click.UsageError("--preset names every parameter: give no SIZE or resize option with it")
        key = storage.resize_key(media_id, preset=preset)
    elif size is None:
        raise click.UsageError("give a SIZE (such as 400x300) or --preset NAME")
    else:
        key = storage.resize_key(media_id, size, format=fmt, **options)
        note_ignored_quality(fmt or DEFAULT_FORMAT, options.get("quality"))
    address = storage.url_for_key(key)
    emit(as_json, {"url": address, "key": key}, address)


@click.command()
@click.argument("url_or_key")
@json_option
@click.pass_context
def resize(ctx: click.Context, /, url_or_key: str, as_json: bool) -> None:
    """Create the derivative a signed URL or key names (now, not on first request)."""
    made = storage_of(ctx).create_resize(url_or_key)
    size = len(made.data)
    payload = {"key": made.key, "width": made.width, "height": made.height, "format": made.format, "bytes": size}
    verb = "created" if made.created else "exists"
    emit(as_json, payload, f"{verb} {made.key} ({made.width}x{made.height} {made.format}, {size} bytes)")


@click.command()
@click.argument("media_id", metavar="ID")
@json_option
@click.pass_context
def delete(ctx: click.Context, /, media_id: str, as_json: bool) -> None:
    """Delete the original ID and every derivative of it."""
    count = storage_of(ctx).delete(media_id)
    emit(as_json, {"id": media_id, "deleted": count}, f"deleted {count} objects of {media_id}")


@click.command()
@click.argument("media_id", metavar="ID")
@json_option
@click.pass_context
def info(ctx: click.Context, /, media_id: str, as_json: bool) -> None:
    """Print the media info of ID (an id or a source key), computing and storing it if missing."""
    facts = storage_of(ctx).info(media_id).to_json()
    emit(as_json, {"id": media_id, **facts}, "\n".join(f"{name}: {value}" for name, value in facts.items()))


#: The commands that work on a storage, in ``shiftmedia`` and in ``flask shiftmedia``.
STORAGE_COMMANDS: tuple[click.Command, ...] = (put, url, resize, info, delete)
