"""The commands over many originals at once: ``shiftmedia warm`` (pre-generate presets) and ``shiftmedia ls``.

Both read the same settings as the service and walk the store by listings
(:mod:`shiftmedia.inventory`). ``warm`` prints a progress bar on a terminal
and a summary at the end (one JSON object with ``--json``), and exits 1 when
anything failed, after listing what.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import IO, Any

import click

from .commands import EXIT_ERROR, emit, json_option, settings_of, storage_of
from .errors import InvalidSpec, ShiftMediaError
from .inventory import Original
from .storage import Storage
from .warming import Made, Shard, plan, run, usable_cores


def _shard(_ctx: click.Context, _param: click.Parameter, value: str | None) -> Shard:
    try:
        return Shard.parse(value) if value else Shard()
    except InvalidSpec as error:
        raise click.BadParameter(str(error)) from None


@click.command()
@click.option("--preset", "presets", multiple=True, help="A preset to make (repeatable)  [default: every preset]")
@click.option("--prefix", help="The originals whose keys start with PREFIX (ids' folders, or source keys).")
@click.option("--ids-from", type=click.File("r", encoding="utf-8"), help="The ids or source keys in FILE, one a line.")
@click.option("--all", "everything", is_flag=True, help="Every original.")
@click.option("--jobs", type=click.IntRange(1), help="Worker processes  [default: the usable cores]")
@click.option("--shard", callback=_shard, metavar="I/N", help="Only part I of N (0 <= I < N) of the originals.")
@click.option("--info", is_flag=True, help="Also store each missing media info document (alone: only those).")
@click.option("--dry-run", is_flag=True, help="Count what would be made; make nothing.")
@json_option
@click.pass_context
def warm(
    ctx: click.Context,
    /,
    presets: tuple[str, ...],
    prefix: str | None,
    ids_from: IO[str] | None,
    everything: bool,
    jobs: int | None,
    shard: Shard,
    info: bool,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Make every missing derivative of the presets for the chosen originals.

    Stored derivatives are found by listing, not fetched, so running it again
    resumes; --shard splits one run between machines. Exits 1 if any failed.
    """
    from tqdm import tqdm

    if sum((prefix is not None, ids_from is not None, everything)) != 1:
        raise click.UsageError("choose the originals: one of --prefix P, --ids-from FILE or --all")
    storage = storage_of(ctx)
    names = presets or (() if info else tuple(name for name, _spec in storage.presets))
    if not names and not info:
        raise click.UsageError("no presets: name some in SHIFTMEDIA_PRESETS, or give --preset (or --info)")
    references = None if ids_from is None else (line.strip() for line in ids_from if line.strip())
    work = plan(storage, names, prefix=prefix, references=references, shard=shard, info=info)
    started = time.monotonic()
    results: list[Made] = []
    counts = dict.fromkeys(("created", "skipped", "failed", "bytes"), 0)
    if not dry_run:
        with tqdm(total=work.objects, unit="img", desc="warming", disable=as_json or None) as bar:

            def progress(made: Made) -> None:
                results.append(made)
                counts["failed" if made.error else "created" if made.created else "skipped"] += 1
                counts["bytes"] += made.bytes if made.created else 0
                bar.set_postfix_str(
                    ", ".join(f"{name} {counts[name]}" for name in ("created", "skipped", "failed"))
                    + f", {tqdm.format_sizeof(counts['bytes'], 'B', 1024)}",
                    refresh=False,
                )
                bar.update(1)

            run(work, settings_of(ctx), jobs=jobs or usable_cores(), storage=storage, progress=progress)
    failed = [*((f.reference, f.key, f.error) for f in work.failed)]
    failed += [(made.reference, made.key, made.error) for made in results if made.error is not None]
    created = sum(made.created for made in results) if not dry_run else work.objects
    skipped = work.skipped + sum(not made.created and made.error is None for made in results)
    seconds = time.monotonic() - started
    made_bytes = sum(made.bytes for made in results if made.created)
    payload = {
        "created": created,
        "skipped": skipped,
        "failed": [{"reference": ref, "key": key, "error": error} for ref, key, error in failed],
        "ignored": work.ignored,
        "bytes": made_bytes,
        "seconds": round(seconds, 3),
        "dry_run": dry_run,
    }
    verb = "would create" if dry_run else "created"
    lines = [f"failed: {key or ref}: {error}" for ref, key, error in failed]
    lines.append(
        f"{verb} {created} objects ({made_bytes} bytes) in {seconds:.1f} s, skipped {skipped} stored, "
        f"failed {len(failed)}" + (f", ignored {work.ignored} objects of no image format" if work.ignored else "")
    )
    emit(as_json, payload, "\n".join(lines))
    if failed:
        sys.exit(EXIT_ERROR)


@click.command("ls")
@click.option("--prefix", default="", help="Only the originals whose keys start with PREFIX.")
@click.option("--manifest", is_flag=True, help='One {"images": [...], "generatedAt"} object, as FOVEA\'s manifest.')
@click.option("--jobs", type=click.IntRange(1), default=8, show_default=True, help="Media info read at once.")
@json_option
@click.pass_context
def ls(ctx: click.Context, /, prefix: str, manifest: bool, jobs: int, as_json: bool) -> None:
    """List the originals: key, bytes, last modified, width and height.

    The sizes come from each original's media info, computed and stored
    where missing (once: shiftmedia warm --info does it ahead).
    """
    from tqdm import tqdm

    storage = storage_of(ctx)
    listed = list(storage.originals(prefix))
    originals = [original for original in listed if original.known_format]
    quiet = as_json or manifest or None
    with ThreadPoolExecutor(jobs) as pool, tqdm(total=len(originals), unit="orig", disable=quiet) as bar:
        rows = list(pool.map(lambda original: _row(storage, original, bar.update), originals))
    if manifest:
        images = [
            {"key": row["key"], "size": row["bytes"], "lastModified": row["modified"]}
            | {name: row[name] for name in ("width", "height") if row.get(name) is not None}
            for row in rows
        ]
        click.echo(json.dumps({"images": images, "generatedAt": _iso(time.time())}, sort_keys=True))
        return
    lines = [
        f"{row['key']}  {row['bytes']}  {row['modified']}  "
        + (f"{row['width']}x{row['height']}" if "error" not in row else f"error: {row['error']}")
        for row in rows
    ]
    ignored = len(listed) - len(originals)
    note = f", ignored {ignored} objects of no image format" if ignored else ""
    emit(as_json, {"originals": rows, "ignored": ignored}, "\n".join([*lines, f"{len(rows)} originals{note}"]))


def _row(storage: Storage, original: Original, done: Callable[[int], object]) -> dict[str, Any]:
    """One original as ``ls`` prints it; its media info, or the error that kept it from being read."""
    row: dict[str, Any] = {
        "reference": original.reference,
        "key": original.info.key,
        "bytes": original.info.size,
        "modified": _iso(original.info.modified),
    }
    try:
        facts = storage.info(original.reference)
    except ShiftMediaError as error:
        row["error"] = str(error)
    else:
        row.update(width=facts.width, height=facts.height, format=facts.format)
    done(1)
    return row


def _iso(moment: float) -> str:
    """A Unix time in ISO 8601, UTC, to the second: ``2025-01-15T10:30:00Z``."""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


#: The commands over many originals, in ``shiftmedia``.
BATCH_COMMANDS: tuple[click.Command, ...] = (warm, ls)
