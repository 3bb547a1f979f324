"""``flask shiftmedia …``: the storage verbs of the ``shiftmedia`` command, with the app's configuration.

An embedding app gets ``flask shiftmedia put|url|resize|delete`` (for a
second extension, ``flask <name> …``), answering exactly as ``shiftmedia``
does but through the app's own :class:`~shiftmedia.storage.Storage`.
"""

from __future__ import annotations

from collections.abc import Callable

import click
from flask.cli import AppGroup, with_appcontext

from .. import commands
from ..storage import Storage


class _Group(commands.OneLineErrors, AppGroup):
    """An app command group whose library errors are one line, as in ``shiftmedia``."""


def command_group(name: str, storage: Callable[[], Storage]) -> click.Group:
    """The ``flask <name>`` group; ``storage()`` is called inside the app context."""

    @click.group(
        name,
        cls=_Group,
        commands=commands.STORAGE_COMMANDS,
        help=f"Store, sign, resize and delete media with the app's {name} settings.",
    )
    @with_appcontext
    @click.pass_context
    def group(ctx: click.Context) -> None:
        commands.use_storage(ctx, storage())

    return group
