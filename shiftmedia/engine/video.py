"""Video originals (MP4, MOV, WebM, MKV): their header, and the frame a derivative shows.

A video goes through the engine's entry points as an image does:
:func:`~shiftmedia.engine.probe` checks it, :func:`~shiftmedia.engine.render`
makes an image of one frame of it. This module is the door to both: it tells
a video by its first bytes (:mod:`.videoformat`), opens it with PyAV (whose
wheels carry FFmpeg's demuxers and decoders), checks the header against
:class:`~.limits.Limits`, and hands back the chosen frame (:mod:`.videoseek`)
as sRGB pixels and an EXIF orientation (:mod:`.videopixels`), which the
photo pipeline then scales, turns and encodes as it does any picture.

Before FFmpeg parses a byte, the file's size is checked
(``max_video_bytes``: the whole file is held in memory for a render) and its
outline is read for truncation. FFmpeg is then told which demuxer to use
(MP4's or Matroska's, nothing else is tried) and that no frame may be larger
than ``max_pixels`` (the decoders refuse to allocate one). After the header
parse: one video stream (not a cover picture), a codec in :data:`CODECS`
whose decoder PyAV carries, a frame size, duration and rate within the
limits. A header without a duration (a browser's live WebM recording) passes
that check; its frames still cost from the decode budget.

PyAV is the optional extra ``shiftmedia[video]``: its wheels bundle the GPL
x264 and x265 libraries, so it stays out of ``shiftmedia[all]`` like
pillow-heif. Without it a video is refused as
:class:`~shiftmedia.errors.UnsupportedImage` naming the extra. Every error
PyAV raises becomes :class:`~shiftmedia.errors.InvalidImage`, as
:mod:`.guard` does for Pillow's.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

from PIL import Image

from ..errors import InvalidImage, InvalidSpec, ShiftMediaError, UnsupportedImage
from .guard import DECODE_ERRORS
from .limits import Limits
from .plan import Size
from .videoformat import check_whole, container_format, matroska_size

if TYPE_CHECKING:
    from av.container import InputContainer
    from av.video.stream import VideoStream

EXTRA = "shiftmedia[video]"
"""The extra that installs PyAV."""

CODECS = ("h264", "hevc", "vp8", "vp9", "av1")
"""Codecs a video may be in (FFmpeg's names): H.264, H.265/HEVC, VP8, VP9, AV1."""

DEMUXERS = {"mp4": "mov", "mov": "mov", "webm": "matroska", "mkv": "matroska"}
"""The FFmpeg demuxer of each container: the only one asked to read it."""


@dataclass(frozen=True)
class Clip:
    """What a video's header says: its container's extension, its codec, its
    frame size as stored (before the display matrix turns it), its duration in
    seconds and average frame rate (None where the header gives none) and its
    frame count (0 where the header gives none: Matroska never does)."""

    format: str
    codec: str
    size: Size
    duration: float | None
    fps: float | None
    frames: int


@dataclass(frozen=True)
class Poster:
    """The frame a derivative shows: its sRGB pixels as stored, the EXIF
    orientation that turns them upright, and the header of its video."""

    image: Image.Image
    orientation: int
    clip: Clip


def is_video(data: bytes) -> bool:
    """True when ``data`` opens like an MP4, MOV, WebM or MKV video (by content, never by name)."""
    return container_format(data) is not None


def read(data: bytes, limits: Limits = Limits()) -> tuple[Clip, int]:
    """The header of the video ``data`` and the orientation of its frames,
    after checking it against ``limits`` and decoding its first frame."""
    with _opened(data, limits) as (container, stream, clip):
        from . import videopixels, videoseek

        frame = videoseek.frame_at(container, stream, Fraction(0), videoseek.Budget(limits))
        return clip, videopixels.orientation(frame)


def poster(data: bytes, time_ms: int | None, limits: Limits = Limits()) -> Poster:
    """The frame of the video ``data`` at ``time_ms`` milliseconds, or its
    representative frame when None, within ``limits``.

    Raises :class:`~shiftmedia.errors.InvalidSpec` for a time past the end of
    the video, as for a crop rectangle outside an image.
    """
    with _opened(data, limits) as (container, stream, clip):
        from . import videopixels, videoseek

        budget = videoseek.Budget(limits)
        if time_ms is None:
            frame = videoseek.representative(container, stream, clip.duration, budget)
        else:
            seconds = Fraction(time_ms, 1000)
            if clip.duration is not None and seconds > Fraction(clip.duration):
                raise InvalidSpec(f"frame time {float(seconds):g} s is past the end of the {clip.duration:.3f} s video")
            frame = videoseek.frame_at(container, stream, seconds, budget)
            if clip.duration is None and videoseek.ends_before(frame, stream, container, seconds):
                raise InvalidSpec(f"frame time {float(seconds):g} s is past the end of the video")
        return Poster(videopixels.to_image(frame), videopixels.orientation(frame), clip)


@contextmanager
def _opened(data: bytes, limits: Limits) -> Iterator[tuple[InputContainer, VideoStream, Clip]]:
    """The video ``data`` opened by PyAV with its header checked, closed on exit;
    PyAV's errors in the body become shiftmedia's too."""
    format = container_format(data)
    if format is None:
        raise InvalidImage("not a video in a supported container")
    limits.check_video_input(len(data))
    check_whole(data, format)
    try:
        import av
    except ImportError as exc:
        raise UnsupportedImage(f"video originals need PyAV: install {EXTRA}") from exc
    pixel_limit = {"max_pixels": str(limits.max_pixels)}
    with _av_errors(av.FFmpegError):
        container = av.open(io.BytesIO(data), "r", format=DEMUXERS[format], options=pixel_limit)
        try:
            stream = _video_stream(container)
            clip = _clip(container, stream, format, data)
            limits.check_video(clip.size, clip.duration, clip.fps)
            stream.codec_context.options = pixel_limit
            stream.thread_type = "AUTO"
            yield container, stream, clip
        finally:
            container.close()


@contextmanager
def _av_errors(ffmpeg_error: type[Exception]) -> Iterator[None]:
    """Re-raise what PyAV raises on a malformed file (``ffmpeg_error``, PyAV's
    base, or one of the types Pillow's plugins raise too) as :class:`InvalidImage`."""
    try:
        yield
    except ShiftMediaError:
        raise
    except (ffmpeg_error, *DECODE_ERRORS) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise InvalidImage(f"cannot decode video: {reason}") from exc


def _video_stream(container: InputContainer) -> VideoStream:
    """The first video stream that is not a cover picture, with a decoder for an allowed codec."""
    from av.stream import Disposition

    streams = [stream for stream in container.streams.video if not stream.disposition & Disposition.attached_pic]
    if not streams:
        raise InvalidImage("the file holds no video stream")
    stream = streams[0]
    if stream.codec_context is None:
        raise UnsupportedImage("the video's codec has no decoder here")
    codec = stream.codec_context.codec.canonical_name
    if codec not in CODECS:
        raise UnsupportedImage(f"video codec {codec} is not supported (only {', '.join(CODECS)})")
    return stream


def _clip(container: InputContainer, stream: VideoStream, format: str, data: bytes) -> Clip:
    """The header facts of ``stream`` in ``container``, opened from ``data``.

    The frame size is FFmpeg's, else the one a Matroska header claims
    (:func:`~.videoformat.matroska_size`), so that a frame over the limit is
    refused as such.
    The duration is the longer of the container's and the stream's, so that
    neither can hide a long video from the limit behind a short claim.
    """
    context = stream.codec_context
    size = (context.width, context.height)
    if min(size) < 1:
        claimed = matroska_size(data) if format in ("webm", "mkv") else None
        if claimed is None or min(claimed) < 1:
            raise InvalidImage("the video's header gives no frame size")
        size = claimed
    durations = [
        *([container.duration / 1_000_000] if container.duration is not None else []),
        *([float(stream.duration * stream.time_base)] if stream.duration is not None and stream.time_base else []),
    ]
    rate = stream.average_rate or stream.guessed_rate
    return Clip(
        format=format,
        codec=context.codec.canonical_name,
        size=size,
        duration=max(durations) if durations else None,
        fps=float(rate) if rate else None,
        frames=stream.frames,
    )
