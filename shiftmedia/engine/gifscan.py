"""Count a GIF's frames and the canvas they grow to, from its block structure alone.

A GIF's header does not say how many frames follow, nor how large they are:
each frame has its own image descriptor, and a frame may reach past the
logical screen, which Pillow then enlarges to hold it. Pillow finds the count
(``n_frames``) by seeking through the whole file in Python, a read per block
and a byte at a time over anything it does not recognise, and it only
enlarges the canvas as it decodes. A file of many tiny frames, of one tiny
frame followed by huge ones, or of a comment split into millions of one-byte
sub-blocks (which Pillow's header parse collects into a list) all pass any
check made on what Pillow knows after opening.

:func:`scan` walks the blocks itself, over the bytes already in memory, before
Pillow parses anything. Its work is bounded twice: it stops as soon as the
count passes ``stop_after``, and it refuses a file split into more data
sub-blocks than :func:`sub_block_budget` allows for its length (encoders write
full 255-byte sub-blocks, so a real file needs a fraction of that). It stops,
as browsers do, at the trailer, at the end of the data, or at a byte that
starts no block (Pillow would skip such bytes one at a time; no frame after
them is ever decoded, since the engine seeks no further than the count).

The walk also notes what each frame's blocks say (where it goes, its graphic
control: disposal, transparency index, delay) and where they lie, for
:mod:`.gifcanvas` to composite the frames as browsers do where Pillow does not.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ..errors import InvalidImage, LimitExceeded
from .plan import Size

SIGNATURES = (b"GIF87a", b"GIF89a")
"""The first six bytes of every GIF."""

SCREEN_END = 13
"""Bytes of the signature and the logical screen descriptor."""

EXTENSION, IMAGE = 0x21, 0x2C
"""The bytes that introduce an extension block and an image (a frame)."""

GRAPHIC_CONTROL = 0xF9
"""The label of the graphic control extension, which sets the next frame's disposal, transparency and delay."""

GRAPHIC_CONTROL_SIZE = 4
"""Bytes of a graphic control's sub-block: packed flags, delay (2) and transparency index."""

DESCRIPTOR = 10
"""Bytes of an image descriptor, its introducer included."""

COLOUR_TABLE_FLAG = 0x80
"""Set in a descriptor's flags when a colour table follows it."""

BYTES_PER_SUB_BLOCK = 128
"""One data sub-block allowed per this many bytes of file: half the 256 bytes
(a length byte and 255 of data) that encoders give each one."""

SUB_BLOCKS_PER_FRAME = 4
"""Sub-blocks allowed for each frame's own short blocks (graphic control
extension, the last sub-block of its pixels, a comment)."""

SPARE_SUB_BLOCKS = 65_536
"""Sub-blocks allowed whatever the length: XMP metadata is stored raw, so
its text bytes read as many short sub-blocks."""


@dataclass(frozen=True)
class GifFrame:
    """One frame as its blocks say: its ``box`` (left, top, width, height),
    disposal method (0-7, 0 without a graphic control), transparency index,
    ``duration`` in ms (0 without a graphic control, as Pillow reports it),
    and where its image descriptor starts and its data ends in the file."""

    box: tuple[int, int, int, int]
    disposal: int
    transparency: int | None
    duration: int
    start: int
    end: int


@dataclass(frozen=True)
class GifLayout:
    """What the block structure says: ``frames`` (exact up to the walk's
    ``stop_after``, ``stop_after + 1`` for "more"), the ``canvas`` the
    logical screen grows to when it holds every frame counted, where the
    signature, screen and global colour table end (``header_end``), and each
    frame counted."""

    frames: int
    canvas: Size
    header_end: int
    blocks: tuple[GifFrame, ...]


def is_gif(data: bytes) -> bool:
    """True when ``data`` starts with a GIF signature (Pillow opens nothing
    else as GIF, and no other format it opens starts so)."""
    return data[:6] in SIGNATURES


def sub_block_budget(length: int, stop_after: int) -> int:
    """The most data sub-blocks a GIF of ``length`` bytes may hold when at most
    ``stop_after`` frames are to be counted; see the module doc."""
    return length // BYTES_PER_SUB_BLOCK + SUB_BLOCKS_PER_FRAME * (stop_after + 1) + SPARE_SUB_BLOCKS


def scan(data: bytes, stop_after: int) -> GifLayout:
    """Count the frames of the GIF ``data``, stopping once there are more than
    ``stop_after``, and the canvas they need; decode nothing.

    Raises :class:`~shiftmedia.errors.InvalidImage` when ``data`` is not a GIF
    or holds no frame, and :class:`~shiftmedia.errors.LimitExceeded` when it is
    split into more sub-blocks than :func:`sub_block_budget` allows.
    """
    if not is_gif(data) or len(data) < SCREEN_END:
        raise InvalidImage("not a GIF")
    width, height, flags = struct.unpack_from("<HHB", data, 6)
    header_end = SCREEN_END + _table_bytes(flags)
    walk = _Walk(data, header_end, sub_block_budget(len(data), stop_after))
    blocks: list[GifFrame] = []
    control: tuple[int, int | None, int] = (0, None, 0)
    while len(blocks) <= stop_after and walk.position < len(data):
        start = walk.position
        introducer = data[start]
        if introducer == EXTENSION:
            control = _graphic_control(data, start) or control
            walk.position += 2
            walk.skip_sub_blocks()
        elif introducer == IMAGE and start + DESCRIPTOR <= len(data):
            left, top, frame_width, frame_height, flags = struct.unpack_from("<HHHHB", data, start + 1)
            width, height = max(width, left + frame_width), max(height, top + frame_height)
            walk.position += DESCRIPTOR + _table_bytes(flags) + 1
            walk.skip_sub_blocks()
            disposal, transparency, duration = control
            box = (left, top, frame_width, frame_height)
            blocks.append(GifFrame(box, disposal, transparency, duration, start, min(walk.position, len(data))))
            control = (0, None, 0)
        else:
            break
    if not blocks:
        raise InvalidImage("GIF has no frame")
    return GifLayout(frames=len(blocks), canvas=(width, height), header_end=header_end, blocks=tuple(blocks))


def _graphic_control(data: bytes, position: int) -> tuple[int, int | None, int] | None:
    """The disposal, transparency index and duration (ms) a graphic control
    extension at ``position`` sets; None for any other extension, or one too short."""
    if data[position + 1 : position + 3] != bytes((GRAPHIC_CONTROL, GRAPHIC_CONTROL_SIZE)):
        return None
    if position + 3 + GRAPHIC_CONTROL_SIZE > len(data):
        return None
    packed, delay, index = struct.unpack_from("<BHB", data, position + 3)
    return (packed >> 2) & 7, index if packed & 1 else None, delay * 10


def _table_bytes(flags: int) -> int:
    """Bytes of the colour table that a screen or image descriptor with ``flags`` is followed by."""
    return 3 << ((flags & 7) + 1) if flags & COLOUR_TABLE_FLAG else 0


class _Walk:
    """A position in the data, and how many more sub-blocks may be skipped."""

    def __init__(self, data: bytes, position: int, budget: int) -> None:
        self.data = data
        self.position = position
        self.budget = budget
        self.allowed = budget

    def skip_sub_blocks(self) -> None:
        """Move past a chain of data sub-blocks and its zero terminator (or to the
        end of a truncated chain), spending one from the budget for each."""
        data, position, remaining = self.data, self.position, self.budget
        end = len(data)
        while position < end:
            length = data[position]
            position += 1 + length
            if length == 0:
                break
            remaining -= 1
            if remaining < 0:
                raise LimitExceeded(
                    f"GIF is split into more than {self.allowed} data sub-blocks, over the limit for its {end} bytes"
                )
        self.position, self.budget = position, remaining
