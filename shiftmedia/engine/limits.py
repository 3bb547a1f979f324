"""Resource limits the engine enforces on every image it opens or produces.

The limits exist so that one hostile or merely huge upload cannot exhaust the
service's memory or CPU. Every check here needs only numbers that an image
header carries, so the engine can refuse an image before decoding a pixel.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from ..errors import ConfigError, LimitExceeded


@dataclass(frozen=True)
class Limits:
    """Upper bounds for one render or probe; every value must be positive.

    ``max_pixels`` bounds one frame (width × height), ``max_frame_pixels`` an
    animation as a whole (frames × width × height), ``max_input_bytes`` the
    encoded input and ``max_output_side`` each side of the rendered image.
    """

    max_pixels: int = 50_000_000
    max_input_bytes: int = 50 * 1024 * 1024
    max_output_side: int = 4096
    max_frame_pixels: int = 250_000_000

    def __post_init__(self) -> None:
        """Refuse a limit that is not a positive integer: it would disable the check."""
        for field in fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"Limits.{field.name} must be a positive integer")

    def check_input(self, length: int) -> None:
        """Refuse encoded input longer than ``max_input_bytes``."""
        if length > self.max_input_bytes:
            raise LimitExceeded(f"input is {length} bytes, over the limit of {self.max_input_bytes}")

    def check_image(self, size: tuple[int, int], frames: int) -> None:
        """Refuse a frame over ``max_pixels`` or an animation over ``max_frame_pixels``."""
        pixels = size[0] * size[1]
        if pixels > self.max_pixels:
            raise LimitExceeded(f"image is {size[0]}x{size[1]} ({pixels} pixels), over the limit of {self.max_pixels}")
        if frames * pixels > self.max_frame_pixels:
            raise LimitExceeded(
                f"animation is {frames} frames of {pixels} pixels, "
                f"over the limit of {self.max_frame_pixels} pixels in all"
            )

    def check_output(self, size: tuple[int, int]) -> None:
        """Refuse an output with a side longer than ``max_output_side``."""
        if max(size) > self.max_output_side:
            raise LimitExceeded(
                f"output would be {size[0]}x{size[1]}, over the limit of {self.max_output_side} px per side"
            )
