"""Fixtures for the engine tests: the real-world corpus and images built in memory.

The corpus (``SHIFTMEDIA_CORPUS``, else ``<repo>/../shared/corpus``) holds camera
photos and hostile files; tests that need it skip with a reason when it is
absent. Everything else runs on small images generated here with Pillow, so
the basic engine tests need no files at all.
"""

from __future__ import annotations

import functools
import io
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

import pytest
from PIL import Image

from ..conftest import CORPUS_MISSING, corpus_dir

QUADRANT_COLOURS = ((255, 0, 0), (0, 200, 0), (0, 0, 255), (255, 255, 255))
"""Upright test picture: top-left red, top-right green, bottom-left blue, bottom-right white."""

STORED_FOR = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}
"""How a camera stores an upright picture for each EXIF orientation (the inverse
of what a viewer applies)."""


#: The decodable corpus files' names, kept in the repository so that without the corpus every
#: test over it is still collected, and reported as skipped with the reason, one by one.
CORPUS_MANIFEST = Path(__file__).resolve().parents[1] / "corpus-files.txt"


def decodable_corpus_files() -> list[str]:
    """Corpus files meant to decode: all but the corrupt ``bad_*`` and the ``bomb_*``."""
    path = corpus_dir()
    if path is None:
        return []
    return sorted(
        entry.name for entry in path.iterdir() if entry.suffix != ".md" and not entry.name.startswith(("bad_", "bomb_"))
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``corpus_file`` over the decodable corpus; without it, over its manifest, each case skipped."""
    if "corpus_file" in metafunc.fixturenames:
        names = decodable_corpus_files()
        skipped = pytest.mark.skip(reason=CORPUS_MISSING)
        params = names or [pytest.param(name, marks=skipped) for name in CORPUS_MANIFEST.read_text().split()]
        metafunc.parametrize("corpus_file", params)


def gif_frame_data(data: bytes) -> bytes:
    """The image data (LZW code size, sub-blocks, terminator) of the first frame of the GIF ``data``."""
    position = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)
    while data[position] == 0x21:  # extensions before the frame: label, then sub-blocks
        position += 2
        while data[position]:
            position += 1 + data[position]
        position += 1
    flags = data[position + 9]
    start = position + 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    end = start + 1
    while data[end]:
        end += 1 + data[end]
    return data[start : end + 1]


class Samples:
    """Builders for small test images, encoded in memory."""

    @staticmethod
    def encode(image: Image.Image, pillow_format: str, **options: object) -> bytes:
        """``image`` saved as ``pillow_format``."""
        buffer = io.BytesIO()
        image.save(buffer, pillow_format, **options)
        return buffer.getvalue()

    @staticmethod
    def quadrants(size: tuple[int, int] = (64, 48)) -> Image.Image:
        """An upright RGB picture of four flat quadrants (see QUADRANT_COLOURS)."""
        width, height = size
        image = Image.new("RGB", size)
        boxes = (
            (0, 0, width // 2, height // 2),
            (width // 2, 0, width, height // 2),
            (0, height // 2, width // 2, height),
            (width // 2, height // 2, width, height),
        )
        for colour, box in zip(QUADRANT_COLOURS, boxes, strict=True):
            image.paste(colour, box)
        return image

    @staticmethod
    def stored(upright: Image.Image, orientation: int) -> Image.Image:
        """The pixels a camera stores for ``upright`` when it tags ``orientation``."""
        method = STORED_FOR[orientation]
        return upright.copy() if method is None else upright.transpose(method)

    @classmethod
    def oriented_jpeg(cls, orientation: int, size: tuple[int, int] = (64, 48)) -> bytes:
        """A JPEG that displays as ``quadrants(size)`` through EXIF ``orientation``."""
        exif = Image.Exif()
        exif[0x0112] = orientation
        stored = cls.stored(cls.quadrants(size), orientation)
        return cls.encode(stored, "JPEG", quality=95, exif=exif.tobytes())

    @classmethod
    def rgba_png(cls, size: tuple[int, int] = (64, 48)) -> bytes:
        """A PNG whose left half is fully transparent and right half opaque red."""
        image = Image.new("RGBA", size, (255, 0, 0, 255))
        image.paste((0, 0, 0, 0), (0, 0, size[0] // 2, size[1]))
        return cls.encode(image, "PNG")

    @staticmethod
    def png_header(width: int, height: int) -> bytes:
        """A PNG that is only a signature, a valid IHDR claiming ``width`` × ``height``
        (8-bit RGB), an empty IDAT and IEND: a bomb as far as the header goes."""

        def chunk(kind: bytes, body: bytes) -> bytes:
            crc = zlib.crc32(kind + body) & 0xFFFFFFFF
            return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

        ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
        return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")

    @classmethod
    def jpeg_header(cls, width: int, height: int) -> bytes:
        """A small real JPEG whose SOF0 header is patched to claim ``width`` × ``height``."""
        data = bytearray(cls.encode(Image.new("L", (16, 16), 128), "JPEG"))
        sof = data.index(b"\xff\xc0")
        data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
        return bytes(data)

    @classmethod
    def animated_gif(
        cls,
        colours: Sequence[tuple[int, int, int, int]],
        durations: Sequence[int],
        size: tuple[int, int] = (40, 30),
        loop: int | None = 0,
    ) -> bytes:
        """A GIF with one flat frame per colour; alpha 0 makes that frame's left half clear."""
        frames = []
        for colour in colours:
            frame = Image.new("RGBA", size, (*colour[:3], 255))
            if colour[3] == 0:
                frame.paste((0, 0, 0, 0), (0, 0, size[0] // 2, size[1]))
            frames.append(frame)
        options: dict[str, object] = {"duration": list(durations), "disposal": 2, "optimize": False}
        if loop is not None:
            options["loop"] = loop
        return cls.encode(frames[0], "GIF", save_all=True, append_images=frames[1:], **options)

    @classmethod
    def block_gif(
        cls,
        screen: tuple[int, int],
        frames: Sequence[tuple[int, int, int, int]],
        delay: int = 4,
        comment_sub_blocks: int = 0,
    ) -> bytes:
        """A GIF written block by block: a logical ``screen``, then one flat frame
        per ``(left, top, width, height)``, cycling through four colours.

        Each distinct frame size is LZW-coded once by Pillow and its data
        repeated, so a few huge flat frames or thousands of tiny ones cost
        milliseconds and kilobytes. ``comment_sub_blocks`` puts a comment made
        of that many one-byte sub-blocks before the first frame.
        """
        palette = bytes((0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255))
        out = bytearray(b"GIF89a" + struct.pack("<HHBBB", *screen, 0x81, 0, 0) + palette)
        out += b"!\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
        if comment_sub_blocks:
            out += b"!\xfe" + b"\x01c" * comment_sub_blocks + b"\x00"
        for index, (left, top, width, height) in enumerate(frames):
            out += b"!\xf9\x04" + struct.pack("<BHBB", 0x04, delay, 0, 0)
            out += b"," + struct.pack("<HHHHB", left, top, width, height, 0)
            out += cls._flat_lzw((width, height), index % 4)
        return bytes(out + b";")

    @staticmethod
    @functools.cache
    def _flat_lzw(size: tuple[int, int], colour: int) -> bytes:
        """The image data (LZW code size, sub-blocks, terminator) of a flat
        frame of ``size`` in palette index ``colour``, as Pillow writes it."""
        frame = Image.new("P", size, colour)
        frame.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255])
        return gif_frame_data(Samples.encode(frame, "GIF", optimize=False))

    @staticmethod
    def truncated(data: bytes, keep: float = 0.6) -> bytes:
        """The first ``keep`` fraction of ``data``."""
        return data[: int(len(data) * keep)]

    @staticmethod
    def grey_profile(gamma: float = 1.8) -> bytes:
        """A minimal ICC v2 grey profile (description, white point, gamma curve);
        LittleCMS cannot create one itself."""

        def tag_xyz(x: float, y: float, z: float) -> bytes:
            return b"XYZ " + bytes(4) + b"".join(struct.pack(">i", round(v * 65536)) for v in (x, y, z))

        description = b"grey test profile\0"
        tags = [
            (
                b"desc",
                b"desc" + bytes(4) + struct.pack(">I", len(description)) + description + bytes(4 + 4 + 2 + 1 + 67),
            ),
            (b"wtpt", tag_xyz(0.9642, 1.0, 0.8249)),
            (b"kTRC", b"curv" + bytes(4) + struct.pack(">IH", 1, round(gamma * 256)) + bytes(2)),
            (b"cprt", b"text" + bytes(4) + b"none\0" + bytes(3)),
        ]
        offset = 128 + 4 + 12 * len(tags)
        table, body = b"", b""
        for signature, content in tags:
            table += signature + struct.pack(">II", offset + len(body), len(content))
            body += content + bytes(-len(content) % 4)
        size = offset + len(body)
        header = (
            struct.pack(">I", size)
            + b"lcms"
            + bytes.fromhex("02100000")
            + b"mntrGRAYXYZ "
            + bytes(12)
            + b"acsp"
            + bytes(24)
            + struct.pack(">I", 0)
            + bytes(8)
            + tag_xyz(0.9642, 1.0, 0.8249)[8:]
            + bytes(48)
        )
        return header + struct.pack(">I", len(tags)) + table + body

    @classmethod
    def photo_jpeg(cls, size: tuple[int, int] = (320, 240)) -> bytes:
        """A JPEG of a smooth gradient, large enough that truncation cuts entropy data."""
        gradient = Image.linear_gradient("L").resize(size)
        across = gradient.transpose(Image.Transpose.ROTATE_90).resize(size)
        image = Image.merge("RGB", (gradient, across, gradient))
        return cls.encode(image, "JPEG", quality=90)


@pytest.fixture(scope="session")
def samples() -> type[Samples]:
    """The in-memory image builders."""
    return Samples
