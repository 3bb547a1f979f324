"""Find the frame a video derivative shows: the one at a time, or a representative one.

Only a keyframe decodes on its own; every other frame needs the frames since
the keyframe before it. :func:`frame_at` therefore seeks to the keyframe at
or before the time and decodes forward to the first frame shown at or after
it, as ``ffmpeg -ss TIME -i VIDEO`` does. The time counts from the start of
the file's timeline, as a player's does. Only the video stream is demuxed,
and decoded frames are let go as the next arrives: at most the one wanted, the
one before it and, while a representative frame is sought, the first are held.

Without a time the derivative shows a representative frame
(:func:`representative`): many videos open on black, fade in from white or
start on a flat title card, none of which says what the video holds. A few
candidate times spread over the first tenth of the video (at least its first
:data:`SHORTEST_WINDOW` seconds, as a short clip's first tenth is shorter
than most fades) are tried in order, and the first frame at or after one of
them that :func:`~.videopixels.is_blank` does not refuse is the one. When
every candidate is blank, the first frame is. The choice depends on the
bytes alone, so a URL always gives the same picture.

Every decoded frame is paid for from a :class:`Budget` of pixels
(``Limits.max_decode_pixels``), so a file whose keyframes lie hours apart
cannot make a render decode for hours: reaching a time past the budget is
refused, and the search for a representative frame stops where the budget
ends and takes what it has.
"""

from __future__ import annotations

from fractions import Fraction

from av.container import InputContainer
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from ..errors import InvalidImage, LimitExceeded
from .limits import Limits
from .videopixels import is_blank

CANDIDATES = 5
"""Times tried for a representative frame: the start of the window, its end, and evenly between."""

WINDOW = Fraction(1, 10)
"""The share of the video, from its start, that the representative frame is chosen in."""

SHORTEST_WINDOW = Fraction(2)
"""Seconds the window spans at least (or the whole video, when it is shorter)."""

MICROSECONDS = 1_000_000
"""FFmpeg's ``AV_TIME_BASE``: the container's start time and duration are in microseconds."""


class Budget:
    """The pixels one render may still decode, and the largest frame it takes."""

    def __init__(self, limits: Limits) -> None:
        self.left = limits.max_decode_pixels
        self.total = limits.max_decode_pixels
        self.max_pixels = limits.max_pixels

    def spend(self, frame: VideoFrame, seconds: Fraction) -> None:
        """Pay for ``frame``, decoded on the way to the frame at ``seconds``.

        Raises :class:`~shiftmedia.errors.LimitExceeded` for a frame larger
        than the header said (over ``max_pixels``), or once the budget is spent.
        """
        pixels = frame.width * frame.height
        if pixels > self.max_pixels:
            raise LimitExceeded(f"video frame is {frame.width}x{frame.height}, over the limit of {self.max_pixels}")
        self.left -= pixels
        if self.left < 0:
            raise LimitExceeded(
                f"reaching the frame at {float(seconds):.3f} s decodes more than {self.total} pixels, the limit: "
                "the video's keyframes are too far apart"
            )


def frame_at(container: InputContainer, stream: VideoStream, seconds: Fraction, budget: Budget) -> VideoFrame:
    """The first frame of ``stream`` shown at or after ``seconds``, or its last frame when none starts later.

    ``seconds`` 0 reads the container from where it stands, which for a
    container just opened is its first frame. Raises
    :class:`~shiftmedia.errors.InvalidImage` when no frame decodes.
    """
    target = start(container, stream) + seconds
    base = _time_base(stream)
    if seconds:
        container.seek(int(target / base), stream=stream, backward=True, any_frame=False)
    last = None
    for frame in container.decode(stream):
        budget.spend(frame, seconds)
        if frame.pts is not None and frame.pts * base >= target:
            return frame
        last = frame
    if last is None:
        raise InvalidImage("no frame of the video decodes")
    return last


def representative(
    container: InputContainer, stream: VideoStream, duration: float | None, budget: Budget
) -> VideoFrame:
    """The first frame that is not blank at or after one of the candidate times
    in the first tenth of a video of ``duration`` seconds (None: unknown), else
    the first frame; ``container`` must be just opened."""
    length = Fraction(duration) if duration is not None else SHORTEST_WINDOW
    window = max(length * WINDOW, min(length, SHORTEST_WINDOW))
    first = frame_at(container, stream, Fraction(0), budget)
    if not is_blank(first):
        return first
    for step in range(1, CANDIDATES):
        try:
            frame = frame_at(container, stream, window * step / (CANDIDATES - 1), budget)
        except LimitExceeded:
            break
        if not is_blank(frame):
            return frame
    return first


def ends_before(frame: VideoFrame, stream: VideoStream, container: InputContainer, seconds: Fraction) -> bool:
    """True when ``frame`` stops showing before ``seconds`` into the video (its time plus its duration)."""
    if frame.pts is None:
        return False
    base = _time_base(stream)
    return (frame.pts + max(frame.duration or 0, 1)) * base <= start(container, stream) + seconds


def start(container: InputContainer, stream: VideoStream) -> Fraction:
    """Where the file's timeline starts, in seconds: the container's start, else the stream's, else 0."""
    begins: int | None = container.start_time  # None when the file gives none, whatever PyAV's stub says
    if begins is not None:
        return Fraction(begins, MICROSECONDS)
    if stream.start_time is not None:
        return stream.start_time * _time_base(stream)
    return Fraction(0)


def _time_base(stream: VideoStream) -> Fraction:
    """The unit of ``stream``'s timestamps, in seconds."""
    if not stream.time_base:
        raise InvalidImage("video stream has no time base")
    return stream.time_base
