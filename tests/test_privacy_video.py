"""GPS removed from video originals in place: clips written by Debian's ffmpeg, the phones' layouts
built by hand, timed metadata and damaged files refused, and uploads through ``Storage``."""

from __future__ import annotations

import io
import struct
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from shiftmedia.backends.local import LocalBackend
from shiftmedia.errors import UnsupportedImage
from shiftmedia.privacy import strip_gps, strippable
from shiftmedia.storage import Storage

from .conftest import PUBLIC_URL, SECRET_KEYS, mutations
from .engine.videoclips import av, ebml, encode, ffmpeg, matroska, packets, textured

LOCATION = "+48.8584+002.2945/"
XMP_UUID = bytes.fromhex("BE7ACFCB97A942E89C71999491E3AFAC")
GPS_XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description exif:GPSLatitude="48,51.504N"/></x:xmpmeta>'
PLAIN_XMP = GPS_XMP.replace(b"exif:GPSLatitude", b"xmp:CreateDate")
ENCODERS = {"mp4": "libx264", "mov": "libx264", "mkv": "libx264", "webm": "libvpx-vp9"}
MUXERS = {"mp4": "mp4", "mov": "mov", "mkv": "matroska", "webm": "webm"}


def clip(tmp_path: Path, fmt: str, *options: str, location: bool = True, seconds: float = 1) -> bytes:
    """A clip of ``seconds`` written by Debian's ffmpeg, titled and dated, at the Eiffel tower if ``location``."""
    where = ["-metadata", f"location={LOCATION}"] if location else []
    return ffmpeg(
        *("-f", "lavfi", "-i", "testsrc=size=64x48:rate=10", "-t", str(seconds), "-c:v", ENCODERS[fmt]),
        *("-pix_fmt", "yuv420p", "-metadata", "title=Tour", "-metadata", "creation_time=2024-05-01T10:00:00Z"),
        *where,
        *options,
        *("-f", MUXERS[fmt]),
        output=tmp_path / f"clip.{fmt}",
    )


def tags(data: bytes) -> dict[str, str]:
    with av.open(io.BytesIO(data)) as container:
        return dict(container.metadata)


def frames(data: bytes) -> list[bytes]:
    with av.open(io.BytesIO(data)) as container:
        return [b"".join(bytes(plane) for plane in frame.planes) for frame in container.decode(video=0)]


def placed(data: bytes) -> dict[str, str]:
    """The tags of ``data`` that say where it was shot."""
    return {name: value for name, value in tags(data).items() if "location" in name.lower()}


# ISO base media: the boxes, read and written by hand.


def box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(body), kind) + body


def children(data: bytes, start: int = 0, end: int | None = None) -> list[tuple[bytes, int, int]]:
    """``(type, start, end)`` of the boxes filling ``data[start:end]`` (32-bit sizes)."""
    end = len(data) if end is None else end
    found = []
    while start < end:
        size, kind = struct.unpack_from(">I4s", data, start)
        found.append((kind, start, start + size))
        start += size
    return found


def child(data: bytes, kind: bytes, start: int = 0, end: int | None = None) -> bytes:
    return next(data[at:stop] for name, at, stop in children(data, start, end) if name == kind)


def rebuilt(boxes: bytes, path: list[bytes], change: Callable[[bytes], bytes]) -> bytes:
    """``boxes`` (a file, or a box's payload) with the first box at ``path`` replaced by ``change(box)``
    and its parents' sizes fixed. Only a ``moov`` at the end of the file may change size: no chunk offset
    into ``mdat`` moves then."""
    for kind, at, stop in children(boxes):
        if kind == path[0]:
            new = (
                change(boxes[at:stop]) if len(path) == 1 else box(kind, rebuilt(boxes[at + 8 : stop], path[1:], change))
            )
            return boxes[:at] + new + boxes[stop:]
    raise AssertionError(f"no {path[0]!r} box")


def with_boxes(data: bytes, parent: list[bytes], *extra: bytes) -> bytes:
    """``data`` (its ``moov`` last) with ``extra`` boxes added at the end of the box at ``parent``."""
    assert children(data)[-1][0] == b"moov"
    return rebuilt(data, parent, lambda old: box(old[4:8], old[8:] + b"".join(extra)))


#: The boxes where a position is found: they may change, turned into ``free`` boxes or emptied of it.
TOUCHED = {b"moov/udta/\xa9xyz", b"moov/udta/loci", b"moov/udta/meta", b"moov/meta", b"moov/udta/free"}


def movie_parts(data: bytes) -> dict[bytes, list[bytes]]:
    """Every box at the top level, in ``moov`` and in ``moov/udta``, by path, but those that hold the others."""
    parts: dict[bytes, list[bytes]] = {}

    def add(prefix: bytes, start: int, end: int) -> None:
        for kind, at, stop in children(data, start, end):
            path = prefix + kind
            if path in (b"moov", b"moov/udta"):
                add(path + b"/", at + 8, stop)
            else:
                parts.setdefault(path, []).append(data[at:stop])

    add(b"", 0, len(data))
    return parts


def assert_stripped(data: bytes, stripped: bytes) -> None:
    """The position is gone from ``stripped``, and every other box is byte for byte as it was."""
    assert placed(data) and not placed(stripped)
    assert len(stripped) == len(data) and LOCATION.encode() not in stripped and b"location=" not in stripped
    assert tags(stripped)["title"] == "Tour" and frames(stripped) == frames(data)
    before, after = movie_parts(data), movie_parts(stripped)
    assert {k: v for k, v in before.items() if k not in TOUCHED} == {k: v for k, v in after.items() if k not in TOUCHED}
    assert b"moov/mvhd" in after and b"moov/trak" in after and b"mdat" in after
    assert strip_gps(stripped, "mov" if stripped[8:12] == b"qt  " else "mp4") == stripped


@pytest.mark.parametrize(
    ("fmt", "flags"),
    [("mp4", ""), ("mp4", "use_metadata_tags"), ("mp4", "use_metadata_tags+faststart"), ("mov", "")]
    + [("mov", "use_metadata_tags"), ("mov", "faststart")],
)
def test_clips_written_by_ffmpeg_lose_their_position(tmp_path: Path, fmt: str, flags: str) -> None:
    data = clip(tmp_path, fmt, *(("-movflags", flags) if flags else ()))
    stripped = strip_gps(data, fmt)
    assert strippable(fmt)
    assert_stripped(data, stripped)
    assert tags(stripped)["creation_time"].startswith("2024-05-01T10:00:00")


def iso6709(text: bytes) -> bytes:
    """A QuickTime ``©xyz`` box as Android's MediaMuxer writes it: length, language, the ISO 6709 string."""
    return box(b"\xa9xyz", struct.pack(">HH", len(text), 0x15C7) + text)


def test_an_android_mp4_loses_its_position(tmp_path: Path) -> None:
    plain = clip(tmp_path, "mp4", location=False)
    data = with_boxes(plain, [b"moov", b"udta"], iso6709(LOCATION.encode()))
    assert placed(data)["location"] == LOCATION
    assert_stripped(data, strip_gps(data, "mp4"))


def item(index: int, value: bytes, kind: int = 1) -> bytes:
    return box(index.to_bytes(4, "big"), box(b"data", struct.pack(">II", kind, 0) + value))


IPHONE_KEYS = {
    "com.apple.quicktime.location.accuracy.horizontal": b"14.142136",
    "com.apple.quicktime.location.ISO6709": LOCATION.encode(),
    "com.apple.quicktime.make": b"Apple",
    "com.apple.quicktime.model": b"iPhone 12",
    "com.apple.quicktime.creationdate": b"2024-05-01T12:00:00+0200",
}


def iphone_meta(keys: dict[str, bytes], *, iso: bool = False) -> bytes:
    """The ``meta`` box an iPhone writes in ``moov``: an ``mdta`` handler, the key names, their values."""
    hdlr = box(b"hdlr", bytes(8) + b"mdta" + bytes(13))
    names = box(b"keys", struct.pack(">II", 0, len(keys)) + b"".join(box(b"mdta", name.encode()) for name in keys))
    values = box(b"ilst", b"".join(item(index, value) for index, value in enumerate(keys.values(), 1)))
    return box(b"meta", (bytes(4) if iso else b"") + hdlr + names + values)


@pytest.mark.parametrize("iso", [False, True], ids=["quicktime meta", "iso meta"])
def test_an_iphone_mov_loses_its_position_and_keeps_its_make(tmp_path: Path, iso: bool) -> None:
    data = with_boxes(clip(tmp_path, "mov", location=False), [b"moov"], iphone_meta(IPHONE_KEYS, iso=iso))
    assert placed(data)["com.apple.quicktime.location.ISO6709"] == LOCATION
    stripped = strip_gps(data, "mov")
    assert_stripped(data, stripped)
    assert b"14.142136" not in stripped
    assert tags(stripped)["com.apple.quicktime.model"] == "iPhone 12"
    assert tags(stripped)["com.apple.quicktime.creationdate"] == "2024-05-01T12:00:00+0200"


def test_a_position_in_a_track_and_in_an_itunes_list_goes_too(tmp_path: Path) -> None:
    data = clip(tmp_path, "mov", location=False)
    ilst = box(b"ilst", box(b"\xa9xyz", box(b"data", bytes(8) + LOCATION.encode())))
    itunes = box(b"meta", bytes(4) + box(b"hdlr", bytes(8) + b"mdir" + bytes(13)) + ilst)
    data = with_boxes(data, [b"moov"], box(b"udta", itunes))
    data = with_boxes(data, [b"moov", b"trak"], box(b"udta", iso6709(b"+40.6892-074.0445/")))
    stripped = strip_gps(data, "mov")
    assert len(stripped) == len(data) and LOCATION.encode() not in stripped and b"074.0445" not in stripped
    assert frames(stripped) == frames(data)


def test_xmp_naming_the_position_is_blanked_other_xmp_kept(tmp_path: Path) -> None:
    plain = clip(tmp_path, "mp4", location=False)
    data = with_boxes(plain, [b"moov"], box(b"udta", box(b"XMP_", GPS_XMP))) + box(b"uuid", XMP_UUID + GPS_XMP)
    stripped = strip_gps(data, "mp4")
    assert len(stripped) == len(data) and b"GPSLatitude" not in stripped and frames(stripped) == frames(data)
    assert stripped.count(b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>') == 2
    kept = with_boxes(plain, [b"moov"], box(b"udta", box(b"XMP_", PLAIN_XMP))) + box(b"uuid", XMP_UUID + PLAIN_XMP)
    assert strip_gps(kept, "mp4") == kept


def test_a_64_bit_box_is_read(tmp_path: Path) -> None:
    body = iso6709(LOCATION.encode())
    large = struct.pack(">I4sQ", 1, b"udta", 16 + len(body)) + body
    data = with_boxes(clip(tmp_path, "mp4", location=False), [b"moov"], large)
    stripped = strip_gps(data, "mp4")
    assert placed(data) and not placed(stripped) and len(stripped) == len(data)


def with_metadata_track(data: bytes, entry: bytes) -> bytes:
    """``data`` (one video track, its ``moov`` last) with a second track, of timed metadata described by
    ``entry``: a copy of the video track, numbered 2, with a ``meta`` handler."""
    trak = bytearray(child(child(data, b"moov"), b"trak", 8))
    struct.pack_into(">I", trak, trak.index(b"tkhd") + 16, 2)
    trak[trak.index(b"vide") : trak.index(b"vide") + 4] = b"meta"
    stsd = box(b"stsd", struct.pack(">II", 0, 1) + entry)
    track = box(b"trak", rebuilt(bytes(trak[8:]), [b"mdia", b"minf", b"stbl", b"stsd"], lambda _old: stsd))
    return with_boxes(data, [b"moov"], track)


def mebx(*names: str) -> bytes:
    keys = b"".join(
        box(index.to_bytes(4, "big"), box(b"keyd", b"mdta" + name.encode())) for index, name in enumerate(names, 1)
    )
    return box(b"mebx", bytes(6) + struct.pack(">H", 1) + box(b"keys", keys))


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        (box(b"gpmd", bytes(6) + b"\x00\x01"), "its 'gpmd' track of timed metadata may hold positions"),
        (box(b"camm", bytes(6) + b"\x00\x01"), "its 'camm' track of timed metadata may hold positions"),
        (box(b"djmd", bytes(6) + b"\x00\x01"), "its 'djmd' track of timed metadata may hold positions"),
        (mebx("com.apple.quicktime.location.ISO6709"), "its 'mebx' track of timed metadata names a location"),
    ],
)
def test_timed_metadata_that_may_hold_positions_is_refused(tmp_path: Path, entry: bytes, why: str) -> None:
    data = with_metadata_track(clip(tmp_path, "mp4", location=False), entry)
    with pytest.raises(UnsupportedImage, match=f"^cannot remove the GPS position from this MP4: {why}$"):
        strip_gps(data, "mp4")


def test_timed_metadata_without_positions_is_kept(tmp_path: Path) -> None:
    data = with_metadata_track(clip(tmp_path, "mp4", location=False), mebx("com.apple.quicktime.video-orientation"))
    assert strip_gps(data, "mp4") == data


@pytest.mark.parametrize("fmt", ["mp4", "mov", "webm", "mkv"])
def test_a_clip_without_a_position_is_unchanged(tmp_path: Path, fmt: str) -> None:
    data = clip(tmp_path, fmt, location=False)
    assert strip_gps(data, fmt) == data


def test_damaged_movies_are_refused_naming_why(tmp_path: Path) -> None:
    data = clip(tmp_path, "mp4", "-movflags", "use_metadata_tags")
    moov = children(data)[-1][1]
    keys = data.index(b"keys") - 4
    keys_size = struct.unpack_from(">I", data, keys)[0]
    broken = {
        "its moov box runs past the end of the file": data[: len(data) - 20],
        "a box in its udta box does not fit": data.replace(b"\x00\x00\x00#loci", b"\x00\x00\x01#loci"),
        "a box in its moov box does not fit": data[: moov + 8] + b"\x00\x00\x00\x04mvhd" + data[moov + 16 :],
        "a box in its keys box does not fit": data[: keys + 16] + b"\x00\x00\x00\x99" + data[keys + 20 :],
        "its keys box is cut short": data[:keys]
        + struct.pack(">I4sII4s", 12, b"keys", 0, keys_size - 12, b"free")
        + data[keys + 20 :],
        "its top-level 'moov' box has a size of 3 bytes": data[:moov] + b"\x00\x00\x00\x03" + data[moov + 4 :],
        "its meta box holds items \\(iloc\\)": data.replace(b"keys", b"iloc"),
    }
    for why, sample in broken.items():
        with pytest.raises(UnsupportedImage, match=f"^cannot remove the GPS position from this MP4: {why}$"):
            strip_gps(sample, "mp4")


def test_a_file_without_a_movie_box_is_returned_as_it_is(tmp_path: Path) -> None:
    data = clip(tmp_path, "mp4")
    headless = data[: children(data)[-1][1]]
    for sample in (headless, b"", b"\x00\x00\x00\x10ftypisom", headless + b"\x00\x01"):
        assert strip_gps(sample, "mp4") == sample


@pytest.mark.parametrize("fmt", ["mp4", "mov", "webm", "mkv"])
def test_mutations_are_stripped_or_refused_never_anything_else(tmp_path: Path, fmt: str) -> None:
    flags = ("-movflags", "use_metadata_tags") if fmt == "mp4" else ()
    data = clip(tmp_path, fmt, *flags, seconds=0.3)
    for sample in mutations(data, fmt, 300):
        try:
            assert len(strip_gps(sample, fmt)) == len(sample)
        except UnsupportedImage as error:
            assert str(error).startswith(f"cannot remove the GPS position from this {fmt.upper()}: ")


# Matroska (WebM, MKV): FFmpeg's LOCATION tag.


def element(data: bytes, at: int) -> tuple[int, int, int]:
    """The EBML element at ``at``: its ID, where its payload starts and where it ends."""
    width = 9 - data[at].bit_length()
    ident = int.from_bytes(data[at : at + width], "big")
    size_width = 9 - data[at + width].bit_length()
    size = int.from_bytes(data[at + width : at + width + size_width], "big") & ((1 << (7 * size_width)) - 1)
    start = at + width + size_width
    return ident, start, start + size


def tags_element(data: bytes) -> tuple[int, int]:
    """Where the payload of the first ``Tags`` element of the first ``Segment`` starts and ends."""
    _ident, _start, at = element(data, 0)
    _ident, at, end = element(data, at)
    while at < end:
        ident, start, stop = element(data, at)
        if ident == 0x1254C367:
            return start, stop
        at = stop
    raise AssertionError("no Tags element")


@pytest.mark.parametrize(("fmt", "options"), [("webm", ()), ("webm", ("-live", "1")), ("mkv", ())])
def test_a_matroska_location_tag_becomes_void(tmp_path: Path, fmt: str, options: tuple[str, ...]) -> None:
    data = clip(tmp_path, fmt, *options)
    assert placed(data) == {"LOCATION": LOCATION}
    stripped = strip_gps(data, fmt)
    assert strippable(fmt) and len(stripped) == len(data) and not placed(stripped)
    assert LOCATION.encode() not in stripped and tags(stripped)["title"] == "Tour"
    assert frames(stripped) == frames(data)
    start, stop = tags_element(data)
    assert stripped[:start] == data[:start] and stripped[stop:] == data[stop:]
    ident, crc_start, crc_end = element(stripped, start)
    if fmt == "mkv":
        assert ident == 0xBF, "FFmpeg writes a CRC-32 in a Matroska file's Tags"
        assert data[crc_start:crc_end] == struct.pack("<I", zlib.crc32(data[crc_end:stop]))
        assert stripped[crc_start:crc_end] == struct.pack("<I", zlib.crc32(stripped[crc_end:stop]))
    assert strip_gps(stripped, fmt) == stripped


def test_a_live_recording_of_unknown_sizes_is_walked() -> None:
    """A recorder that cannot seek back leaves the Segment's and each cluster's size unknown: the walk
    goes through the cluster, block by block, to the Tags after it (which FFmpeg does not read)."""
    video = packets(encode([textured((64, 48), (255, 0, 0), seed) for seed in range(5)], codec="vp9", container="webm"))
    title = ebml(0x67C8, ebml(0x45A3, b"TITLE") + ebml(0x4487, b"Tour"))
    tag = ebml(0x67C8, ebml(0x45A3, b"LOCATION") + ebml(0x4487, LOCATION.encode()))
    note = ebml(0x67C8, ebml(0x45A3, b"com.apple.quicktime.location.note") + ebml(0x4487, b"by the river " * 12))
    data = matroska(video, (64, 48)) + ebml(0x1254C367, ebml(0x7373, title + tag + note))
    unknown = b"\x01" + b"\xff" * 7
    segment, cluster = data.index(b"\x18\x53\x80\x67") + 4, data.index(b"\x1f\x43\xb6\x75") + 4
    data = data[:segment] + unknown + data[segment + 8 : cluster] + unknown + data[cluster + 8 :]
    stripped = strip_gps(data, "webm")
    assert len(stripped) == len(data) and LOCATION.encode() not in stripped and frames(stripped) == frames(data)
    tags_at = data.index(b"\x12\x54\xc3\x67")
    void = bytes([0xEC, 0x80 | len(tag) - 2]) + bytes(len(tag) - 2)
    long_void = b"\xec" + (1 << 56 | len(note) - 9).to_bytes(8, "big") + bytes(len(note) - 9)
    assert stripped[:tags_at] == data[:tags_at] and stripped.endswith(title + void + long_void)
    assert b"river" not in stripped


def test_damaged_matroska_is_refused_or_returned(tmp_path: Path) -> None:
    data = clip(tmp_path, "webm")
    start, stop = tags_element(data)
    assert strip_gps(b"\x1a\x45\xdf\xa3", "webm") == b"\x1a\x45\xdf\xa3"
    with pytest.raises(UnsupportedImage, match="^cannot remove the GPS position from this WEBM: its Tags element"):
        strip_gps(data[: stop - 3], "webm")
    with pytest.raises(UnsupportedImage, match="^cannot remove the GPS position from this WEBM: an element"):
        strip_gps(data[:start] + b"\x00" + data[start + 1 :], "webm")


# Through Storage, and what it costs.


@pytest.mark.parametrize("strip", [True, False])
def test_put_strips_a_video_when_asked(tmp_path: Path, strip: bool) -> None:
    storage = Storage(LocalBackend(tmp_path / "media", PUBLIC_URL), SECRET_KEYS, strip_gps=strip)
    source = clip(tmp_path, "mov", "-movflags", "use_metadata_tags")
    media_id = storage.put(source, filename="IMG_0042.MOV")
    key = storage.original_key(media_id)
    stored = (tmp_path / "media" / key).read_bytes()
    assert key.endswith("/img_0042.mov") and len(stored) == len(source) and (stored == source) is not strip
    assert bool(placed(stored)) is not strip and tags(stored)["title"] == "Tour"
    made = storage.create_resize(storage.resize_key(media_id, (32, 24), mode="fill", format="jpg"))
    assert (tmp_path / "media" / made.key).read_bytes()[:2] == b"\xff\xd8"


def test_put_refuses_a_video_whose_position_it_cannot_remove(tmp_path: Path) -> None:
    data = with_metadata_track(clip(tmp_path, "mp4", location=False), box(b"gpmd", bytes(6) + b"\x00\x01"))
    stripping = Storage(LocalBackend(tmp_path / "media", PUBLIC_URL), SECRET_KEYS, strip_gps=True)
    with pytest.raises(UnsupportedImage, match="MP4: its 'gpmd' track of timed metadata may hold positions"):
        stripping.put(data, filename="gopro.mp4")
    assert not (tmp_path / "media").exists() or not any(path.is_file() for path in (tmp_path / "media").rglob("*"))


@pytest.mark.slow
def test_a_50_mb_clip_costs_a_walk_of_its_boxes(tmp_path: Path) -> None:
    """The media data is skipped, not read: a 50 MB clip is stripped about as fast as its bytes are copied."""
    data = clip(tmp_path, "mp4", "-movflags", "use_metadata_tags")
    (_ftyp, _at, _stop), (_free, _, _), (mdat, at, stop), (moov, _, _) = children(data)
    assert (mdat, moov) == (b"mdat", b"moov")
    padding = 50 * 1024 * 1024
    large = data[:at] + struct.pack(">I", stop - at + padding) + data[at + 4 : stop] + bytes(padding) + data[stop:]
    started = time.perf_counter()
    stripped = strip_gps(large, "mp4")
    took = time.perf_counter() - started
    assert not placed(stripped) and frames(stripped) == frames(data)
    assert took < 0.5, f"{took:.3f} s"
