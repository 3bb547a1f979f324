"""Resource limits the engine enforces on every image it opens or produces.

The limits exist so that one hostile or merely huge upload cannot exhaust the
service's memory or CPU. Every check here needs only numbers that an image
header (or, for GIF, its block structure: see :mod:`.gifscan`) and the plan
carry, so the engine refuses an image before decoding a pixel.

The work of a render grows with three sums, and each has its limit: the
frames (``max_frames``: a fixed cost per frame, in the decoder, the resample
and the encoder), the decoded source pixels of all frames
(``max_frame_pixels``: decoding, compositing and resampling) and the output
pixels of all frames (``max_output_pixels``: every output frame is kept until
the encoder, and quantising a GIF or encoding a WebP costs far more per pixel
than decoding). The defaults are measured (README, Security): one request at
the limits of all three at once takes under 20 s and 512 MiB on a 2-core
machine.

A video original has limits of its own, as its header gives other numbers:
the file's bytes (``max_video_bytes``: a video is read whole into memory for
a render, so this bounds the memory of one), its duration and frame rate
(``max_duration``, ``max_fps``), a frame's pixels (``max_pixels``, as for a
photo) and the pixels a render may decode to reach the frame it shows
(``max_decode_pixels``: the frames from the keyframe before the time to the
frame at it, which only the file's keyframe spacing bounds).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from ..errors import ConfigError, LimitExceeded


@dataclass(frozen=True)
class Limits:
    """Upper bounds for one render or probe; every value must be positive.

    ``max_pixels`` bounds one frame (width × height), ``max_input_bytes`` the
    encoded input and ``max_output_side`` each side of the rendered image. An
    animation has three more: ``max_frames`` frames, ``max_frame_pixels``
    decoded pixels in all (frames × width × height of the canvas), and
    ``max_output_pixels`` output pixels in all (frames × output width × output
    height). A still image and a one-frame output are bounded by
    ``max_pixels`` and ``max_output_side`` alone, so raising either never
    needs the animation limits raised with it.

    A video is bounded by ``max_video_bytes`` instead of ``max_input_bytes``,
    ``max_duration`` seconds, ``max_fps`` frames per second and ``max_pixels``
    per frame, all read from its header; a render decodes at most
    ``max_decode_pixels`` (1000 frames of 1920×1080 by default: 33 s of
    30 fps video between two keyframes, where phones and encoders put one
    every 1 to 10 s).
    """

    max_pixels: int = 40_000_000
    max_input_bytes: int = 50 * 1024 * 1024
    max_output_side: int = 4096
    max_frame_pixels: int = 32_000_000
    max_frames: int = 1000
    max_output_pixels: int = 2 * 2048 * 2048
    max_video_bytes: int = 512 * 1024 * 1024
    max_duration: int = 3 * 3600
    max_fps: int = 240
    max_decode_pixels: int = 1000 * 1920 * 1080

    def __post_init__(self) -> None:
        """Refuse a limit that is not a positive integer: it would disable the check."""
        for field in fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"Limits.{field.name} must be a positive integer")

    @property
    def max_original_bytes(self) -> int:
        """The most an original of any kind may be: a photo's limit or a video's, whichever is higher."""
        return max(self.max_input_bytes, self.max_video_bytes)

    def check_input(self, length: int) -> None:
        """Refuse encoded input longer than ``max_input_bytes``."""
        if length > self.max_input_bytes:
            raise LimitExceeded(f"input is {length} bytes, over the limit of {self.max_input_bytes}")

    def check_image(self, size: tuple[int, int], frames: int) -> None:
        """Refuse a frame over ``max_pixels``, and an animation of more than
        ``max_frames`` frames or over ``max_frame_pixels`` in all.

        ``size`` is the canvas every frame is decoded onto; a still image
        (``frames`` 1) is bounded by ``max_pixels`` alone.
        """
        pixels = size[0] * size[1]
        if pixels > self.max_pixels:
            raise LimitExceeded(f"image is {size[0]}x{size[1]} ({pixels} pixels), over the limit of {self.max_pixels}")
        if frames > self.max_frames:
            raise LimitExceeded(f"animation has more than {self.max_frames} frames, the limit")
        if frames > 1 and frames * pixels > self.max_frame_pixels:
            raise LimitExceeded(
                f"animation is {frames} frames of {pixels} pixels, "
                f"over the limit of {self.max_frame_pixels} pixels in all"
            )

    def check_output(self, size: tuple[int, int], frames: int = 1) -> None:
        """Refuse an output with a side longer than ``max_output_side``, and an
        animated one whose ``frames`` frames of ``size`` are over
        ``max_output_pixels`` in all."""
        if max(size) > self.max_output_side:
            raise LimitExceeded(
                f"output would be {size[0]}x{size[1]}, over the limit of {self.max_output_side} px per side"
            )
        pixels = frames * size[0] * size[1]
        if frames > 1 and pixels > self.max_output_pixels:
            raise LimitExceeded(
                f"output would be {frames} frames of {size[0]}x{size[1]} ({pixels} pixels), "
                f"over the limit of {self.max_output_pixels} pixels in all"
            )

    def check_video_input(self, length: int) -> None:
        """Refuse a video file longer than ``max_video_bytes``."""
        if length > self.max_video_bytes:
            raise LimitExceeded(f"video is {length} bytes, over the limit of {self.max_video_bytes}")

    def check_video(self, size: tuple[int, int], duration: float | None, fps: float | None) -> None:
        """Refuse a video whose frames are over ``max_pixels``, longer than
        ``max_duration`` seconds or faster than ``max_fps``, as its header says;
        an unknown duration or rate (a header without one) passes."""
        pixels = size[0] * size[1]
        if pixels > self.max_pixels:
            raise LimitExceeded(f"video is {size[0]}x{size[1]} ({pixels} pixels), over the limit of {self.max_pixels}")
        if duration is not None and duration > self.max_duration:
            raise LimitExceeded(f"video lasts {duration:.3f} s, over the limit of {self.max_duration} s")
        if fps is not None and fps > self.max_fps:
            raise LimitExceeded(f"video has {fps:.3f} frames per second, over the limit of {self.max_fps}")
