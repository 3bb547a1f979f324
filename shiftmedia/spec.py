"""Resize parameters and their file-name grammar.

A derivative's file name spells every parameter that changes its pixels::

    <w>x<h>-<mode>-<quality>-<upscale|noupscale>[-<option>...]-<signature>.<ext>

for example ``400x300-fill-85-noupscale-gne-<signature>.jpg``. The grammar is
strict and canonical: every resize has exactly one spelling, so a CDN caches one
object per resize and nobody can mint cache-busting variants of a signed URL.

Sides are ``0`` ("from the aspect ratio", ``fit`` only, one side) or a
number without leading zeros; ``mode`` is ``fit``, ``fill``, ``pad`` or
``crop`` (the ``r`` option's source rectangle, scaled as ``fill``); ``quality``
is 1-100 for jpg/webp/avif and ``0`` for png/gif. Options follow in a fixed
order, only where they differ from the default: ``t<seconds>`` (a video's frame
at that time, ``t0.5`` to ``t99999.999``; none: its representative frame), ``r<x>x<y>x<w>x<h>`` (crop
rectangle, upright pixels), ``g<gravity>`` (a compass point, or ``f<x>x<y>`` a
focal point in thousandths), ``bg<rrggbb|rrggbbaa>`` (pad, and jpg's
flattening) and ``icc`` (keep the source's profile). ``ext`` is the format.
README.md's "The URL grammar" lists every token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from .errors import InvalidSpec

FORMATS: Final = ("jpg", "png", "webp", "avif", "gif")
LOSSY_FORMATS: Final = frozenset({"jpg", "webp", "avif"})
MODES: Final = ("fit", "fill", "pad", "crop")
GRAVITIES: Final = ("c", "n", "ne", "e", "se", "s", "sw", "w", "nw")
DEFAULT_QUALITY: Final = {"jpg": 85, "webp": 80, "avif": 60, "png": 0, "gif": 0}
DEFAULT_FORMAT: Final = "webp"
DEFAULT_BACKGROUND: Final = "ffffff"
MAX_SIDE: Final = 16383
#: 32 bytes in unpadded base64url: 43 characters, the last holding 4 bits and 2 zero bits, so only
#: 16 may end it; any other decodes to the same bytes (4 spellings of one signature, 4 objects).
_SIGNATURE = r"[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]"

_SIDE = r"0|[1-9][0-9]{0,4}"
_STEM = (
    rf"(?P<width>{_SIDE})x(?P<height>{_SIDE})"
    r"-(?P<mode>[a-z]+)"
    r"-(?P<quality>0|[1-9][0-9]?|100)"
    r"-(?P<upscale>upscale|noupscale)"
    r"(?P<options>(?:-(?:[a-z][a-z0-9]*|t[0-9]+\.[0-9]+))*)"
)
_UNSIGNED_RE = re.compile(rf"{_STEM}\.(?P<ext>[a-z]+)")
_SIGNED_RE = re.compile(rf"{_STEM}-(?P<signature>{_SIGNATURE})\.(?P<ext>[a-z]+)")
_DERIVATIVE_PREFIX_RE = re.compile(r"[0-9]+x[0-9]+-")
_HEX_RE = re.compile(r"[0-9a-f]{6}(?:[0-9a-f]{2})?")
_NUMBER = r"(?:0|[1-9][0-9]{0,4})"
_FOCAL_RE = re.compile(r"f(0|[1-9][0-9]{0,2}|1000)x(0|[1-9][0-9]{0,2}|1000)")
_RECT_RE = re.compile(rf"({_NUMBER})x({_NUMBER})x({_NUMBER})x({_NUMBER})")
_TIME_RE = re.compile(r"t(0|[1-9][0-9]{0,4})(?:\.([0-9]{0,2}[1-9]))?")
MAX_TIME_MS: Final = 99_999_999  # the latest frame time a name spells: 99999.999 s, past 27 hours


@dataclass(frozen=True)
class ResizeSpec:
    """One resize: every parameter that decides the derivative's bytes.

    Instances are immutable and always valid: the constructor rejects any value
    the grammar cannot spell canonically. Use :meth:`create` to build one with
    per-format defaults filled in, :meth:`parse` to read an unsigned name.
    """

    width: int
    height: int
    mode: str = "fit"
    quality: int = DEFAULT_QUALITY[DEFAULT_FORMAT]
    upscale: bool = False
    format: str = DEFAULT_FORMAT
    gravity: str = "c"
    background: str = DEFAULT_BACKGROUND
    rect: tuple[int, int, int, int] | None = None
    keep_icc: bool = False
    time_ms: int | None = None

    def __post_init__(self) -> None:
        _check_int("width", self.width)
        _check_int("height", self.height)
        if not (0 <= self.width <= MAX_SIDE and 0 <= self.height <= MAX_SIDE):
            raise InvalidSpec(f"each side must be between 0 and {MAX_SIDE}")
        if self.mode not in MODES:
            raise InvalidSpec(f"mode must be one of {', '.join(MODES)}")
        if self.width == 0 and self.height == 0:
            raise InvalidSpec("at least one side must be non-zero")
        if self.mode in ("fill", "pad") and (self.width == 0 or self.height == 0):
            raise InvalidSpec(f"mode {self.mode} needs both sides; use fit for an auto side")
        if self.format not in FORMATS:
            raise InvalidSpec(f"format must be one of {', '.join(FORMATS)}")
        _check_int("quality", self.quality)
        if self.format in LOSSY_FORMATS:
            if not 1 <= self.quality <= 100:
                raise InvalidSpec(f"quality for {self.format} must be between 1 and 100")
        elif self.quality != 0:
            raise InvalidSpec(f"quality for lossless {self.format} must be 0")
        if not isinstance(self.upscale, bool):
            raise InvalidSpec("upscale must be a boolean")
        if self.gravity not in GRAVITIES and not _FOCAL_RE.fullmatch(self.gravity):
            raise InvalidSpec(f"gravity must be one of {', '.join(GRAVITIES)} or a focal point")
        if self.gravity != "c" and self.mode == "fit":
            raise InvalidSpec("gravity applies to fill, crop and pad only")
        if self.gravity.startswith("f") and self.mode == "pad":
            raise InvalidSpec("a focal point applies to fill and crop only")
        if (self.rect is None) != (self.mode != "crop"):
            raise InvalidSpec("crop mode needs a source rectangle, and only crop mode takes one")
        if self.rect is not None:
            if not (
                isinstance(self.rect, tuple)
                and len(self.rect) == 4
                and all(isinstance(v, int) and not isinstance(v, bool) for v in self.rect)
            ):
                raise InvalidSpec("the crop rectangle is four integers: x, y, width, height")
            x, y, w, h = self.rect
            if min(x, y) < 0 or min(w, h) < 1 or max(self.rect) > 99999:
                raise InvalidSpec("the crop rectangle needs x, y >= 0 and a width and height >= 1")
        if not isinstance(self.keep_icc, bool):
            raise InvalidSpec("keep_icc must be a boolean")
        if self.time_ms is not None and (type(self.time_ms) is not int or not 0 < self.time_ms <= MAX_TIME_MS):
            raise InvalidSpec("a frame time is 0.001 to 99999.999 s; none means the representative frame")
        if not isinstance(self.background, str) or not _HEX_RE.fullmatch(self.background):
            raise InvalidSpec("background must be lowercase hex rrggbb or rrggbbaa")
        if len(self.background) == 8 and self.background.endswith("ff"):
            raise InvalidSpec("an opaque background is written rrggbb")
        if self.background.endswith("00") and len(self.background) == 8 and self.background != "00000000":
            raise InvalidSpec("a fully transparent background is written 00000000")
        if self.background != DEFAULT_BACKGROUND and self.mode != "pad" and self.format != "jpg":
            raise InvalidSpec("background applies to pad, or to jpg output")

    @classmethod
    def create(
        cls,
        size: str | int | tuple[int, int],
        *,
        mode: str = "fit",
        quality: int | None = None,
        format: str | None = None,
        upscale: bool = False,
        gravity: str | tuple[float, float] = "c",
        background: str | None = None,
        rect: tuple[int, int, int, int] | None = None,
        keep_icc: bool = False,
        time: float | None = None,
    ) -> ResizeSpec:
        """Build a spec from friendly arguments, filling per-format defaults.

        ``size`` is ``"400x300"``, ``(400, 300)`` or a single width. ``quality``
        defaults per format and is ignored (set to 0) for lossless formats;
        ``format`` accepts ``jpeg`` for ``jpg``; ``gravity`` accepts a focal
        point as ``(x, y)`` fractions of the width and height; ``background``
        accepts a leading ``#`` and upper case; ``rect`` (crop mode) is
        ``(x, y, width, height)`` in pixels of the upright source; ``time``
        picks a video's frame, in seconds (to the millisecond).
        """
        width, height = parse_size(size)
        if not isinstance(format, str | None) or not isinstance(background, str | None):
            raise InvalidSpec("format and background are strings")
        fmt = (DEFAULT_FORMAT if format is None else format).lower()
        fmt = "jpg" if fmt == "jpeg" else fmt
        if fmt in LOSSY_FORMATS:
            q = DEFAULT_QUALITY[fmt] if quality is None else quality
        elif fmt in FORMATS:
            q = 0
        else:
            raise InvalidSpec(f"format must be one of {', '.join(FORMATS)}")
        bg = DEFAULT_BACKGROUND if background is None else _normalise_colour(background)
        gravity_token = _normalise_gravity(gravity)
        return cls(width, height, mode, q, upscale, fmt, gravity_token, bg, rect, keep_icc, _milliseconds(time))

    @classmethod
    def parse(cls, name: str) -> ResizeSpec:
        """Read the canonical unsigned name, e.g. ``400x300-fill-85-noupscale.webp``."""
        match = _UNSIGNED_RE.fullmatch(name) if isinstance(name, str) else None
        if match is None:
            raise InvalidSpec("not a resize name")
        return _from_match(match)

    @property
    def options(self) -> tuple[str, ...]:
        """The option tokens of the name, in canonical order."""
        tokens = []
        if self.time_ms is not None:
            tokens.append(f"t{self.time_ms // 1000}" + f".{self.time_ms % 1000:03d}".rstrip("0").rstrip("."))
        if self.rect is not None:
            tokens.append("r" + "x".join(str(v) for v in self.rect))
        if self.gravity != "c":
            tokens.append(f"g{self.gravity}")
        if self.background != DEFAULT_BACKGROUND:
            tokens.append(f"bg{self.background}")
        if self.keep_icc:
            tokens.append("icc")
        return tuple(tokens)

    @property
    def stem(self) -> str:
        """The name without signature and extension."""
        upscale = "upscale" if self.upscale else "noupscale"
        return "-".join((f"{self.width}x{self.height}", self.mode, str(self.quality), upscale, *self.options))

    def name(self) -> str:
        """The canonical unsigned name, the string that gets signed."""
        return f"{self.stem}.{self.format}"

    def signed_name(self, signature: str) -> str:
        """The derivative's file name carrying ``signature``."""
        if not re.fullmatch(_SIGNATURE, signature):
            raise InvalidSpec("malformed signature")
        return f"{self.stem}-{signature}.{self.format}"


def parse_signed_name(name: str) -> tuple[ResizeSpec, str]:
    """Split a derivative file name into its spec and signature (not verified)."""
    match = _SIGNED_RE.fullmatch(name) if isinstance(name, str) else None
    if match is None:
        raise InvalidSpec("not a derivative name")
    return _from_match(match), match["signature"]


def looks_like_derivative(name: str) -> bool:
    """True for names that start like a derivative's; originals never do."""
    return _DERIVATIVE_PREFIX_RE.match(name) is not None


def parse_size(size: str | int | tuple[int, int]) -> tuple[int, int]:
    """Read ``"400x300"`` (or ``400X300``, ``400×300``), ``"400"`` (width only), ``400`` or ``(400, 300)``."""
    if isinstance(size, bool):
        raise InvalidSpec("invalid size (expected WxH, e.g. 400x300)")
    if isinstance(size, int):
        return size, 0
    if isinstance(size, tuple) and len(size) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in size):
        return size[0], size[1]
    if isinstance(size, str):
        match = re.fullmatch(r"([0-9]{1,5})(?:[xX×]([0-9]{1,5}))?", size.strip())
        if match:
            return int(match[1]), int(match[2] or 0)
    raise InvalidSpec("invalid size (expected WxH, e.g. 400x300)")


def _from_match(match: re.Match[str]) -> ResizeSpec:
    found: dict[str, Any] = {}
    for token in match["options"].split("-")[1:]:
        rect_match = _RECT_RE.fullmatch(token[1:]) if token.startswith("r") else None
        time_match = _TIME_RE.fullmatch(token)
        if time_match:
            found["time_ms"] = int(time_match[1]) * 1000 + int((time_match[2] or "").ljust(3, "0"))
        elif token.startswith("bg"):
            found["background"] = token[2:]
        elif token.startswith("g"):
            found["gravity"] = token[1:]
        elif rect_match:
            found["rect"] = tuple(int(value) for value in rect_match.groups())
        elif token == "icc":
            found["keep_icc"] = True
        else:
            raise InvalidSpec("unknown option")
    upscale = match["upscale"] == "upscale"
    spec = ResizeSpec(
        int(match["width"]), int(match["height"]), match["mode"], int(match["quality"]), upscale, match["ext"], **found
    )
    if spec.options != tuple(match["options"].split("-")[1:]):
        raise InvalidSpec("options must be written once each, in canonical order, without defaults")
    return spec


def _normalise_gravity(value: str | tuple[float, float]) -> str:
    if isinstance(value, str):
        return value
    numbers = isinstance(value, tuple) and len(value) == 2
    if numbers and all(isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1 for v in value):
        x, y = (round(v * 1000) for v in value)
        return f"f{x}x{y}"
    raise InvalidSpec("a focal point is (x, y) with each between 0 and 1")


def _milliseconds(seconds: float | None) -> int | None:
    """A frame time in seconds as whole milliseconds; one that no name spells is refused."""
    if seconds is None or (type(seconds) in (int, float) and 0 < seconds < 1e5):
        return None if seconds is None else round(seconds * 1000)
    raise InvalidSpec("a frame time is 0.001 to 99999.999 s; none means the representative frame")


def _normalise_colour(value: str) -> str:
    colour = value.strip().lower().removeprefix("#")
    if len(colour) == 8 and colour.endswith("ff"):
        colour = colour[:6]
    if len(colour) == 8 and colour.endswith("00"):
        colour = "00000000"
    return colour


def _check_int(name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidSpec(f"{name} must be an integer")
