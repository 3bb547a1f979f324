"""Pre-generating derivatives: ``shiftmedia warm`` makes every missing preset of the chosen originals.

:func:`plan` decides from listings, never one request per derivative: the
originals under a prefix with their stored derivatives come from
:meth:`~shiftmedia.storage.Storage.originals`, and each of a list of
references from one listing of its folder. What is stored is skipped, so a
second run (after a crash, or a SIGKILL) makes only what is missing.
``--shard I/N`` keeps the originals whose reference hashes to ``I`` modulo
``N``: machines given ``0/N`` … ``N-1/N`` split one run without talking to
each other, and every original's derivatives fall to one of them.

:func:`run` makes the plan's derivatives, one task per original, in worker
processes that each open the storage from the same settings. A task reads
its original once and makes each derivative as a miss does
(:meth:`~shiftmedia.storage.Storage.make_missing`), so the bytes are the
same, and the render lease keeps the service, another worker or another
shard from making one twice (one stored meanwhile counts as skipped).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from .errors import InvalidSpec, ShiftMediaError
from .inventory import Original
from .mediainfo import info_key
from .settings import Settings
from .storage import Storage

#: Tasks handed to the workers ahead of the results, per worker: enough to keep each busy.
AHEAD = 4


@dataclass(frozen=True)
class Shard:
    """The part ``index`` of ``count`` (``0 <= index < count``) of the originals."""

    index: int = 0
    count: int = 1

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``I/N``, as a Kubernetes Indexed Job numbers its pods (``JOB_COMPLETION_INDEX``/completions)."""
        index, _, count = text.partition("/")
        if not (index.isdigit() and count.isdigit() and int(index) < int(count)):
            raise InvalidSpec(f"a shard is I/N with 0 <= I < N, such as 0/3, not {text!r}")
        return cls(int(index), int(count))

    def takes(self, reference: str) -> bool:
        """Whether the original ``reference`` falls to this shard: the same answer on every machine."""
        digest = hashlib.sha256(reference.encode("utf-8")).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index


@dataclass(frozen=True)
class Task:
    """The missing derivatives (signed keys) of one original, and the key of its media info if missing."""

    reference: str
    keys: tuple[str, ...]
    info: str | None = None

    @property
    def objects(self) -> tuple[str, ...]:
        """The keys of what the task makes: its derivatives, and its media info if missing."""
        return (*self.keys, self.info) if self.info is not None else self.keys


@dataclass(frozen=True)
class Failure:
    """What could not be made: a derivative's key (or ``None``: the original itself), and why."""

    reference: str
    key: str | None
    error: str


@dataclass
class Plan:
    """The tasks to run, and what the listings already settled."""

    tasks: list[Task] = field(default_factory=list)
    skipped: int = 0
    ignored: int = 0
    failed: list[Failure] = field(default_factory=list)

    @property
    def objects(self) -> int:
        """How many objects (derivatives, media info documents) the tasks make."""
        return sum(len(task.objects) for task in self.tasks)


@dataclass(frozen=True)
class Made:
    """One derivative of a task: made (``created``), stored by another meanwhile, or failed (``error``)."""

    reference: str
    key: str
    bytes: int = 0
    created: bool = False
    error: str | None = None


def plan(
    storage: Storage,
    presets: Sequence[str],
    *,
    prefix: str | None = None,
    references: Iterable[str] | None = None,
    shard: Shard = Shard(),
    info: bool = False,
) -> Plan:
    """The derivatives of ``presets`` (and, with ``info``, the media info documents) missing for the
    originals under ``prefix`` (``""``: all) or named in ``references``, in this ``shard``. Listed sources
    that no engine format names (by extension) are ``ignored``; a reference that names no original is a
    failure."""
    specs = storage.keys.presets_of(presets)
    result = Plan()
    for original in _chosen(storage, prefix, references, result):
        if not shard.takes(original.reference):
            continue
        keys = [storage.keys.key(original.reference, spec) for spec in specs]
        missing = tuple(key for key in keys if key.rsplit("/", 1)[1] not in original.derivatives)
        document = info_key(original.info.key) if info and not original.described else None
        result.skipped += len(keys) - len(missing) + (info and original.described)
        if missing or document:
            result.tasks.append(Task(original.reference, missing, document))
    return result


def _chosen(storage: Storage, prefix: str | None, references: Iterable[str] | None, into: Plan) -> Iterator[Original]:
    """The originals a plan covers; references that cannot be listed are noted as failures in ``into``."""
    if references is None:
        for original in storage.originals(prefix or ""):
            if not original.known_format:
                into.ignored += 1
            else:
                yield original
        return
    for reference in dict.fromkeys(references):
        try:
            yield storage.inventory.of(reference)
        except ShiftMediaError as error:
            into.failed.append(Failure(reference, None, str(error)))


def run(
    work: Plan, settings: Settings, *, jobs: int, storage: Storage | None = None, progress: Callable[[Made], None]
) -> None:
    """Make ``work``'s derivatives in ``jobs`` worker processes (``1``: in this one, with ``storage`` if
    given), calling ``progress`` with each result as it comes."""
    if jobs == 1:
        own = storage or Storage.from_settings(settings)
        for task in work.tasks:
            for made in make_task(task, own):
                progress(made)
        return
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker, initargs=(settings,)) as pool:
        pending: dict[Future[list[Made]], Task] = {}
        tasks = iter(work.tasks)
        try:
            while True:
                for task in tasks:
                    pending[pool.submit(_worker_task, task)] = task
                    if len(pending) >= jobs * AHEAD:
                        break
                if not pending:
                    return
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    for made in _outcome(future, pending[future]):
                        progress(made)
                    del pending[future]
        except BrokenProcessPool:
            for task in [*pending.values(), *tasks]:
                for key in task.objects:
                    progress(Made(task.reference, key, error=WORKER_DIED))
        finally:
            pool.shutdown(cancel_futures=True)


WORKER_DIED = "a worker process died (killed, or out of memory) before making it"


def make_task(task: Task, storage: Storage) -> list[Made]:
    """Make ``task``'s media info and derivatives with ``storage``; each result without its bytes."""
    done: list[Made] = []
    if task.info is not None:
        try:
            document = json.dumps(storage.info(task.reference).to_json(), separators=(",", ":"))
            done.append(Made(task.reference, task.info, len(document), created=True))
        except ShiftMediaError as error:
            done.append(Made(task.reference, task.info, error=str(error)))
    try:
        made = list(storage.make_missing(task.reference, task.keys))
    except ShiftMediaError as error:
        return [*done, *(Made(task.reference, key, error=str(error)) for key in task.keys)]
    return done + [
        Made(task.reference, key, error=str(result))
        if isinstance(result, ShiftMediaError)
        else Made(task.reference, key, len(result.data), result.created)
        for key, result in made
    ]


def _outcome(future: Future[list[Made]], task: Task) -> list[Made]:
    """The results of a finished task; a worker that died takes the whole pool down (raised)."""
    error = future.exception()
    if isinstance(error, BrokenProcessPool):
        raise error
    if error is not None:
        return [Made(task.reference, key, error=f"{type(error).__name__}: {error}") for key in task.objects]
    return future.result()


_worker_storage: list[Storage] = []


def _start_worker(settings: Settings) -> None:
    """Open this worker's storage from ``settings``, once."""
    _worker_storage.append(Storage.from_settings(settings))


def _worker_task(task: Task) -> list[Made]:
    return make_task(task, _worker_storage[0])


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity), the default number of workers."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
