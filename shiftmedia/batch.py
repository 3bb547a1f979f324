"""The commands over many originals at once: ``shiftmedia warm`` (pre-generate presets) and ``shiftmedia ls``.

Both read the same settings as the service and walk the store by listings
(:mod:`shiftmedia.inventory`). ``warm`` prints a progress bar on a terminal
and a summary at the end (one JSON object with ``--json``), and exits 1 when
anything failed, after listing what.
"""

from __future__ import annotations

import sys
import time
from typing import IO

import click

from .commands import EXIT_ERROR, emit, json_option, settings_of, storage_of
from .errors import InvalidSpec
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
    names = presets or tuple(name for name, _spec in storage.presets)
    if not names:
        raise click.UsageError("no presets: name some in SHIFTMEDIA_PRESETS, or give --preset")
    references = None if ids_from is None else (line.strip() for line in ids_from if line.strip())
    work = plan(storage, names, prefix=prefix, references=references, shard=shard)
    started = time.monotonic()
    results: list[Made] = []
    counts = dict.fromkeys(("created", "skipped", "failed", "bytes"), 0)
    if not dry_run:
        with tqdm(total=work.derivatives, unit="img", desc="warming", disable=as_json or None) as bar:

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
    created = sum(made.created for made in results) if not dry_run else work.derivatives
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
        f"{verb} {created} derivatives ({made_bytes} bytes) in {seconds:.1f} s, skipped {skipped} stored, "
        f"failed {len(failed)}" + (f", ignored {work.ignored} objects of no image format" if work.ignored else "")
    )
    emit(as_json, payload, "\n".join(lines))
    if failed:
        sys.exit(EXIT_ERROR)


#: The commands over many originals, in ``shiftmedia``.
BATCH_COMMANDS: tuple[click.Command, ...] = (warm,)
