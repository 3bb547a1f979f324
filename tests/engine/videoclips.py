"""Video clips for the tests, encoded in memory with PyAV (or Debian's ffmpeg where a test asks for it).

Every clip is made from Pillow pictures, so a test knows what each frame
shows. Encoders that PyAV's wheels lack skip their tests with the reason.
"""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

av = pytest.importorskip("av", reason="video needs PyAV: install shiftmedia[video]")

FFMPEG = shutil.which("ffmpeg")
"""Debian's ffmpeg, which a few tests use as the reference player."""

ENCODERS = {
    "h264": "libx264",
    "hevc": "libx265",
    "vp8": "libvpx",
    "vp9": "libvpx-vp9",
    "av1": "libsvtav1",
    "mpeg4": "mpeg4",
    "mjpeg": "mjpeg",
}
"""The encoder of each codec the engine takes, and of two it refuses."""

QUIET = {
    "libx265": {"x265-params": "log-level=error"},
    "libsvtav1": {"svtav1-params": "preset=12"},
    "libx264": {"preset": "ultrafast"},
}
"""Encoder options that keep the tests fast and their output short."""

BARS = ((191, 191, 191), (191, 191, 0), (0, 191, 191), (0, 191, 0), (191, 0, 191), (191, 0, 0), (0, 0, 191))
"""SMPTE's 75% colour bars, in sRGB: grey, yellow, cyan, green, magenta, red, blue."""


def encoder(codec: str) -> str:
    """The PyAV encoder of ``codec``, or a skip when this PyAV has none."""
    name = ENCODERS[codec]
    try:
        av.codec.Codec(name, "w")
    except (av.error.FFmpegError, ValueError):
        pytest.skip(f"this PyAV cannot encode {codec} ({name})")
    return name


def textured(size: tuple[int, int], colour: tuple[int, int, int], seed: int = 0) -> Image.Image:
    """A picture that is not blank: a grey gradient (turned by ``seed``) crossed by
    a white stripe, its top-right quarter filled with ``colour``."""
    width, height = size
    ramp = Image.linear_gradient("L").rotate(seed * 37 % 360).resize(size)
    picture = Image.merge("RGB", (ramp, ramp, ramp))
    draw = ImageDraw.Draw(picture)
    draw.line((0, height, width // 2, 0), fill=(255, 255, 255), width=max(2, width // 16))
    draw.rectangle((width // 2, 0, width - 1, height // 2 - 1), fill=colour)
    return picture


def flat(size: tuple[int, int], colour: tuple[int, int, int]) -> Image.Image:
    """A picture of one colour."""
    return Image.new("RGB", size, colour)


def bars(size: tuple[int, int]) -> Image.Image:
    """The colour bars of :data:`BARS`, side by side across ``size``."""
    picture = Image.new("RGB", size)
    draw = ImageDraw.Draw(picture)
    step = size[0] / len(BARS)
    for index, colour in enumerate(BARS):
        draw.rectangle((round(index * step), 0, round((index + 1) * step) - 1, size[1]), fill=colour)
    return picture


def encode(
    pictures: Sequence[Image.Image] | Callable[[int], Image.Image],
    *,
    count: int = 0,
    codec: str = "h264",
    container: str = "mp4",
    fps: int = 10,
    gop: int | None = None,
    pix_fmt: str = "yuv420p",
    rotation: tuple[float, bool, bool] | None = None,
    tags: dict[str, int] | None = None,
    convert: dict[str, object] | None = None,
) -> bytes:
    """A video of ``pictures`` (or ``count`` frames drawn by a function of the frame number).

    ``rotation`` is PyAV's display matrix (degrees counter-clockwise, mirror,
    upside down); ``tags`` the colour tags the codec writes (``colorspace``,
    ``color_range``, ``color_primaries``, ``color_trc``), and ``convert`` the
    ``reformat`` arguments that turn each RGB picture into ``pix_fmt``.
    """
    frames = [pictures(index) for index in range(count)] if callable(pictures) else list(pictures)
    width, height = frames[0].size
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container) as output:
        stream = output.add_stream(encoder(codec), rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.codec_context.options = dict(QUIET.get(stream.codec_context.name, {}))
        if gop is not None:
            stream.codec_context.gop_size = gop
        for name, value in (tags or {}).items():
            setattr(stream.codec_context, name, value)
        if rotation is not None:
            stream.set_display_rotation(rotation[0], hflip=rotation[1], vflip=rotation[2])
        for picture in frames:
            frame = av.VideoFrame.from_image(picture).reformat(format=pix_fmt, **(convert or {}))
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    return buffer.getvalue()


def ffmpeg(*arguments: str, output: Path) -> bytes:
    """Run Debian's ffmpeg (skipping when it is missing) and return what it wrote to ``output``."""
    if FFMPEG is None:
        pytest.skip("Debian's ffmpeg is not installed (apt-get install ffmpeg)")
    subprocess.run([FFMPEG, "-v", "error", "-y", *arguments, str(output)], check=True, timeout=120)
    return output.read_bytes()


def patch_durations(data: bytes, seconds: int) -> bytes:
    """``data``, an MP4 of one video track, claiming to last ``seconds`` everywhere
    its header says how long it is: the ``mvhd``, ``tkhd``, ``mdhd`` and
    ``elst`` durations and the ``stts`` sample times (version 0 boxes, as PyAV
    writes short clips; FFmpeg believes the sample times over the rest)."""
    patched = bytearray(data)
    scales = {}
    for box, scale_at in ((b"mvhd", 12), (b"mdhd", 12)):
        at = data.index(box) + 4
        assert patched[at] == 0, "a version 1 box"
        scales[box] = struct.unpack_from(">I", data, at + scale_at)[0]
        struct.pack_into(">I", patched, at + scale_at + 4, seconds * scales[box])
    struct.pack_into(">I", patched, data.index(b"tkhd") + 4 + 20, seconds * scales[b"mvhd"])
    if b"elst" in data:
        struct.pack_into(">I", patched, data.index(b"elst") + 4 + 8, seconds * scales[b"mvhd"])
    at = data.index(b"stts") + 4
    entries = struct.unpack_from(">I", data, at + 4)[0]
    samples = sum(struct.unpack_from(">I", data, at + 8 + 8 * entry)[0] for entry in range(entries))
    for entry in range(entries):
        struct.pack_into(">I", patched, at + 12 + 8 * entry, seconds * scales[b"mdhd"] // samples)
    return bytes(patched)


def ebml(identity: int, payload: bytes) -> bytes:
    """One EBML element: its ID, its size (8 bytes wide), its payload."""
    return (
        identity.to_bytes((identity.bit_length() + 7) // 8, "big")
        + (0x01 << 56 | len(payload)).to_bytes(8, "big")
        + payload
    )


def uint(identity: int, value: int) -> bytes:
    """An EBML unsigned integer element."""
    return ebml(identity, value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))


def matroska(
    packets: Sequence[bytes],
    size: tuple[int, int],
    *,
    codec: str = "V_VP9",
    doc_type: str = "webm",
    duration_ms: float | None = None,
    frame_ms: int = 100,
) -> bytes:
    """A Matroska file written by hand: one video track whose header claims
    ``size`` (and ``duration_ms``, when given), holding ``packets`` as simple
    blocks ``frame_ms`` apart, the first a keyframe."""
    header = ebml(0x1A45DFA3, uint(0x4286, 1) + uint(0x42F7, 1) + ebml(0x4282, doc_type.encode()) + uint(0x4287, 4))
    duration = ebml(0x4489, struct.pack(">d", duration_ms)) if duration_ms is not None else b""
    info = ebml(0x1549A966, uint(0x2AD7B1, 1_000_000) + duration)
    video = ebml(0xE0, uint(0xB0, size[0]) + uint(0xBA, size[1]))
    entry = uint(0xD7, 1) + uint(0x73C5, 1) + uint(0x83, 1) + ebml(0x86, codec.encode()) + video
    tracks = ebml(0x1654AE6B, ebml(0xAE, entry))
    blocks = b"".join(
        ebml(0xA3, b"\x81" + (index * frame_ms).to_bytes(2, "big") + (b"\x80" if index == 0 else b"\x00") + packet)
        for index, packet in enumerate(packets)
    )
    return header + ebml(0x18538067, info + tracks + ebml(0x1F43B675, uint(0xE7, 0) + blocks))


def packets(data: bytes) -> list[bytes]:
    """The video packets of ``data``, in file order."""
    with av.open(io.BytesIO(data)) as container:
        return [bytes(packet) for packet in container.demux(video=0) if packet.size]
