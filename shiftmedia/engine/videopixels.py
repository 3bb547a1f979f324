"""A decoded video frame as the engine's steps take a picture: sRGB pixels and an orientation.

Video stores colour as luma and chroma (Y'CbCr), and the numbers mean
nothing without the matrix and range that made them: BT.601 (standard
definition), BT.709 (HD) or BT.2020 (UHD and HDR), over the limited range
16-235 of broadcast or the full range 0-255 of JPEG. FFmpeg's swscale
converts with what the frame says; a frame that says nothing is taken as
players take it (:func:`_matrix`: BT.709 from 1280 wide or 577 lines high,
BT.601 below) over the limited range, unless its pixel format is one of the
full-range ``yuvj`` ones. Frames with BT.2020 or P3 primaries, or an HDR
transfer (PQ, HLG: what phones record by default), are converted to sRGB's
primaries and transfer by swscale too; every other frame keeps its
transfer, as browsers show SDR video without converting it.

A phone records upright pixels sideways and says how to turn them in the
container's display matrix, which FFmpeg hands on with every frame.
:func:`orientation` reads it as the EXIF orientation that the photo pipeline
already applies after scaling (:mod:`.orient`), the turns and flips as
FFmpeg's own player applies them; a matrix that turns by other than a right
angle is ignored.
"""

from __future__ import annotations

import math
import struct
import threading
from typing import cast

from av.sidedata.sidedata import SideDataContainer, Type
from av.video.frame import VideoFrame
from av.video.reformatter import ColorPrimaries, Colorspace, ColorTrc, VideoReformatter
from PIL import Image, ImageStat

MATRICES: dict[int, Colorspace] = {
    1: Colorspace.ITU709,
    4: Colorspace.FCC,
    5: Colorspace.ITU601,
    6: Colorspace.ITU601,
    7: Colorspace.SMPTE240M,
    9: Colorspace.BT2020,
    10: Colorspace.BT2020,
}
"""FFmpeg's ``AVColorSpace`` values (BT.709, FCC, BT.470BG, SMPTE 170M, SMPTE 240M, BT.2020
non-constant and constant luminance) and the swscale matrix of each."""

WIDE_PRIMARIES = frozenset({ColorPrimaries.BT2020, ColorPrimaries.SMPTE431, ColorPrimaries.SMPTE432})
"""Primaries wider than sRGB's that a frame is converted from: BT.2020, DCI-P3, Display P3."""

HDR_TRANSFERS = frozenset({ColorTrc.SMPTE2084, ColorTrc.ARIB_STD_B67})
"""Transfers of high-dynamic-range video: PQ (HDR10, Dolby Vision) and HLG."""

FULL_RANGE = 2
"""FFmpeg's ``AVCOL_RANGE_JPEG``: samples over 0-255 instead of 16-235."""

HD_WIDTH, SD_LINES = 1280, 576
"""A frame this wide, or taller than this, is HD for :func:`_matrix`."""

ORIENTATIONS: dict[tuple[int, bool, bool], int] = {
    (0, False, False): 1,
    (0, False, True): 4,
    (90, False, False): 6,
    (90, True, False): 5,
    (180, False, False): 1,
    (180, True, False): 2,
    (180, False, True): 4,
    (180, True, True): 3,
    (270, False, False): 8,
    (270, True, False): 7,
}
"""(clockwise turn, mirrored, upside down) as FFmpeg's player reads a display
matrix (its ``autorotate``) → the EXIF orientation doing the same. For a
quarter turn the mirror flag is the sign of the matrix's third entry."""

_converters = threading.local()
"""Each thread's :func:`_reformatter`."""

SAMPLE_WIDTH = 64
"""Width in pixels of the copy of a frame :func:`is_blank` measures."""

BLACK, WHITE, FLAT = 24.0, 232.0, 6.0
"""A frame is blank when its mean luma is under :data:`BLACK` or over
:data:`WHITE` (out of 255), or its standard deviation is under :data:`FLAT`:
black, white, a fade or a flat colour card."""


def to_image(frame: VideoFrame, size: tuple[int, int] | None = None, gamut: bool = True) -> Image.Image:
    """``frame`` as an 8-bit ``RGB`` image, as stored (not turned), of ``size`` (default: the frame's).

    With ``gamut`` (the default) wide primaries and HDR transfers are
    converted to sRGB's; without, only the matrix and range are applied,
    which is enough to measure the frame and spares swscale's colour
    management, whose set-up takes over a second (:func:`_reformatter`).
    """
    width, height = size or (frame.width, frame.height)
    matrix = range_in = None
    if not frame.format.is_rgb:
        matrix = _matrix(frame)
        range_in = "JPEG" if frame.color_range == FULL_RANGE or frame.format.name.startswith("yuvj") else "MPEG"
    convert = gamut and (frame.color_primaries in WIDE_PRIMARIES or frame.color_trc in HDR_TRANSFERS)
    rgb = (_reformatter() if convert else VideoReformatter()).reformat(
        frame,
        width,
        height,
        "rgb24",
        src_colorspace=matrix,
        interpolation="AREA",
        src_color_range=range_in,
        dst_color_range="JPEG",
        dst_color_trc=ColorTrc.IEC61966_2_1 if convert else None,
        dst_color_primaries=ColorPrimaries.BT709 if convert else None,
    )
    plane = rgb.planes[0]
    return Image.frombytes("RGB", (width, height), bytes(plane), "raw", "RGB", plane.line_size, 1)


def is_blank(frame: VideoFrame) -> bool:
    """True when ``frame`` is black, white, a fade or a flat colour: no poster."""
    height = max(1, round(frame.height * SAMPLE_WIDTH / frame.width))
    stats = ImageStat.Stat(to_image(frame, (SAMPLE_WIDTH, height), gamut=False).convert("L"))
    mean, deviation = stats.mean[0], stats.stddev[0]
    return mean < BLACK or mean > WHITE or deviation < FLAT


def orientation(frame: VideoFrame) -> int:
    """The EXIF orientation (1-8) that shows ``frame`` as its display matrix says."""
    side_data = cast(SideDataContainer, frame.side_data)  # PyAV's stub types it as a dict of motion vectors
    found = side_data.get(Type.DISPLAYMATRIX)
    matrix = bytes(found) if found is not None else b""
    if len(matrix) != struct.calcsize("=9i"):
        return 1
    a, b, _, c, d, *_ = struct.unpack("=9i", matrix)
    across, down = math.hypot(a, c), math.hypot(b, d)
    if not across or not down:
        return 1
    counter_clockwise = -math.degrees(math.atan2(b / down, a / across))
    turn = round(-counter_clockwise) % 360
    if turn % 90:
        return 1
    if turn in (90, 270):
        mirrored = c > 0 if turn == 90 else c < 0
        return ORIENTATIONS[(turn, mirrored, False)]
    return ORIENTATIONS[(turn, a < 0 and turn == 180, d < 0)]


def _reformatter() -> VideoReformatter:
    """This thread's converter for frames that need swscale's colour management.

    Setting that up (tables for the gamut and tone mapping) takes 1.5 s on
    a 2-core machine; a converter that is asked the same again (a frame of
    the same size, format and colours: another size of the same video's
    poster, or another video from the same phone) keeps them. A converter
    is not shared between threads.
    """
    kept = getattr(_converters, "managed", None)
    if not isinstance(kept, VideoReformatter):
        kept = _converters.managed = VideoReformatter()
    return kept


def _matrix(frame: VideoFrame) -> Colorspace:
    """The Y'CbCr matrix of ``frame``: the one it names, else BT.709 for HD and BT.601 below."""
    named = MATRICES.get(frame.colorspace)
    if named is not None:
        return named
    return Colorspace.ITU709 if frame.width >= HD_WIDTH or frame.height > SD_LINES else Colorspace.ITU601
