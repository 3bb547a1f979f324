"""GPS removed from originals, losslessly: generated files in each format, the corpus's phone photos,
and mutated files that must never raise."""

from __future__ import annotations

import io
import random
import struct
from dataclasses import dataclass, fields
from pathlib import Path
from xml.etree import ElementTree

import pillow_heif
import pytest
from PIL import Image

from shiftmedia.backends.local import LocalBackend
from shiftmedia.engine import heif
from shiftmedia.errors import UnsupportedImage
from shiftmedia.privacy import strip_gps, strippable
from shiftmedia.settings import Settings
from shiftmedia.storage import Storage

from .conftest import PUBLIC_URL, SECRET_KEYS, mutations

XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description exif:GPSLatitude="52,13.125N"/></x:xmpmeta>'
FORMATS = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP"}


def with_gps(ext: str) -> bytes:
    image = Image.linear_gradient("L").convert("RGB").resize((64, 48))
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "Maker"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (52.0, 13.0, 7.5), 3: "E", 4: (13.0, 24.0, 1.5), 29: "2026:12:02"})
    out = io.BytesIO()
    extra = {"xmp": XMP} if ext in ("jpg", "webp") else {}
    image.save(out, FORMATS[ext], exif=exif.tobytes(), **extra)
    return out.getvalue()


@pytest.mark.parametrize("ext", sorted(FORMATS))
def test_gps_goes_everything_else_stays(ext: str) -> None:
    data = with_gps(ext)
    stripped = strip_gps(data, ext)
    before, after = Image.open(io.BytesIO(data)), Image.open(io.BytesIO(stripped))
    assert dict(before.getexif().get_ifd(0x8825)) and not dict(after.getexif().get_ifd(0x8825))
    assert after.getexif()[0x0112] == 6 and after.getexif()[0x010F] == "Maker"
    assert before.tobytes() == after.tobytes() and before.size == after.size
    assert b"GPSLatitude" not in stripped and b"2026:12:02" not in stripped
    assert strip_gps(stripped, ext) == stripped


def test_a_file_without_gps_is_unchanged() -> None:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, "JPEG")
    assert strip_gps(out.getvalue(), "jpg") == out.getvalue()
    assert not strippable("tiff") and strip_gps(b"II*\x00junk", "tiff") == b"II*\x00junk"


def test_camera_photos_of_the_corpus(corpus: Path) -> None:
    found = 0
    for path in sorted(corpus.glob("cam_*.jpg")):
        data = path.read_bytes()
        with Image.open(io.BytesIO(data)) as image:
            if not dict(image.getexif().get_ifd(0x8825)):
                continue
        found += 1
        stripped = strip_gps(data, "jpg")
        with Image.open(io.BytesIO(stripped)) as image:
            assert not dict(image.getexif().get_ifd(0x8825)), path.name
            assert image.size == Image.open(io.BytesIO(data)).size
        assert stripped[main_scan(stripped) :] == data[main_scan(data) :], f"{path.name}: the scan data changed"
    assert found >= 3


def main_scan(data: bytes) -> int:
    """Where the main image's start-of-scan marker is, walking the segments (not a thumbnail's)."""
    pos = 2
    while data[pos + 1] != 0xDA:
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    return pos


@pytest.mark.parametrize("ext", sorted(FORMATS))
def test_mutations_never_raise(ext: str) -> None:
    data = with_gps(ext)
    for sample in mutations(data, ext, 400):
        assert isinstance(strip_gps(sample, ext), bytes)


@pytest.mark.parametrize("strip", [True, False])
def test_put_strips_gps_when_asked(tmp_path: Path, strip: bool) -> None:
    storage = Storage(LocalBackend(tmp_path / "media", PUBLIC_URL), SECRET_KEYS, strip_gps=strip)
    media_id = storage.put(with_gps("jpg"), filename="phone.jpg")
    stored = (tmp_path / "media" / storage.original_key(media_id)).read_bytes()
    with Image.open(io.BytesIO(stored)) as image:
        assert bool(dict(image.getexif().get_ifd(0x8825))) is not strip
        assert image.getexif()[0x0112] == 6


def test_the_setting_reaches_storage(tmp_path: Path) -> None:
    settings = Settings.from_values(
        {"SHIFTMEDIA_LOCAL_ROOT": str(tmp_path), "SHIFTMEDIA_SECRET_KEYS": SECRET_KEYS[0], "SHIFTMEDIA_STRIP_GPS": "1"}
    )
    assert Storage.from_settings(settings).strip_gps


# HEIF (HEIC, AVIF): the Exif items of the ``meta`` box, cleaned in place.

EXIF_GPS = {1: "N", 2: (52.0, 13.0, 7.5), 3: "E", 4: (13.0, 24.0, 1.5), 29: "2026:12:02"}


def heif_exif(endian: str = ">") -> Image.Exif:
    exif = Image.Exif()
    exif.endian = endian
    exif[0x010F], exif[0x0110] = "Maker", "Model 1"
    exif.get_ifd(0x8825).update(EXIF_GPS)
    return exif


def make_heic(mode: str = "RGB", exif: bytes | None = None, xmp: bytes | None = None, images: int = 1) -> bytes:
    """A HEIC written by pillow-heif (libheif): ``images`` top-level images, each with ``exif`` and ``xmp``."""
    picture = Image.linear_gradient("L").resize((64, 48)).convert(mode)
    heif_file = pillow_heif.from_pillow(picture)
    for _ in range(images - 1):
        heif_file.add_from_pillow(picture)
    for image in heif_file:
        image.info.update({"exif": exif, "xmp": xmp})
    out = io.BytesIO()
    heif_file.save(out, quality=50)
    return out.getvalue()


def heif_metadata(data: bytes) -> list[tuple[dict[int, object], Image.Exif]]:
    """Each top-level image's GPS directory and whole EXIF, as pillow-heif reads them."""
    found = []
    for image in pillow_heif.open_heif(data):
        exif = Image.Exif()
        if image.info["exif"]:
            exif.load(image.info["exif"])
        found.append((dict(exif.get_ifd(0x8825)), exif))
    return found


def pixels(data: bytes) -> list[bytes]:
    return [image.to_pillow().tobytes() for image in pillow_heif.open_heif(data)]


def test_the_iphone_heic_loses_its_position_and_keeps_the_rest(fixtures: Path) -> None:
    data = (fixtures / "heic_iphone_xs_p3.heic").read_bytes()
    stripped = strip_gps(data, "heic")
    assert strippable("heic") and len(stripped) == len(data)
    assert [bool(gps) for gps, _exif in heif_metadata(data)] == [True, True]
    for gps, exif in heif_metadata(stripped):
        assert gps == {} and (exif[0x010F], exif[0x0110]) == ("Apple", "iPhone XS")
        assert exif.get_ifd(0x8769), "the Exif sub-directory (exposure, dates) stays"
    with heif.open_heif(io.BytesIO(stripped)) as image:
        assert not dict(image.getexif().get_ifd(0x8825)) and image.getexif()[0x0110] == "iPhone XS"
    assert pixels(stripped) == pixels(data)
    assert pillow_heif.open_heif(stripped).info["xmp"] == pillow_heif.open_heif(data).info["xmp"], "no GPS in it"
    mdat = data.index(b"mdat") + 4
    assert stripped[:mdat] == data[:mdat], "every box before the media data is untouched"
    assert strip_gps(stripped, "heic") == stripped


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "I;16"])
@pytest.mark.parametrize("endian", ["<", ">"])
@pytest.mark.parametrize("header", [b"", b"Exif\x00\x00"])
def test_heics_written_by_libheif_lose_their_position(mode: str, endian: str, header: bytes) -> None:
    exif = heif_exif(endian).tobytes()
    data = make_heic(mode, header + exif.removeprefix(b"Exif\x00\x00"), images=2)
    stripped = strip_gps(data, "heic")
    assert len(stripped) == len(data) and pixels(stripped) == pixels(data)
    assert [gps for gps, _exif in heif_metadata(data)] == [EXIF_GPS, EXIF_GPS]
    for gps, exif in heif_metadata(stripped):
        assert gps == {} and (exif[0x010F], exif[0x0110]) == ("Maker", "Model 1")
    assert b"2026:12:02" not in stripped


def test_a_heic_xmp_naming_the_position_is_blanked_another_kept() -> None:
    data = make_heic(exif=heif_exif().tobytes(), xmp=XMP)
    stripped = strip_gps(data, "heic")
    assert len(stripped) == len(data) and b"GPSLatitude" not in stripped
    xmp = pillow_heif.open_heif(stripped).info["xmp"]
    assert ElementTree.fromstring(xmp).tag == "{adobe:ns:meta/}xmpmeta"
    plain = make_heic(xmp=XMP.replace(b"GPSLatitude", b"CreateDate"))
    assert strip_gps(plain, "heic") == plain


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P"])
def test_an_avif_loses_its_position(mode: str) -> None:
    out = io.BytesIO()
    Image.linear_gradient("L").convert(mode).save(out, "AVIF", exif=heif_exif("<").tobytes(), xmp=XMP)
    data = out.getvalue()
    stripped = strip_gps(data, "avif")
    assert strippable("avif") and len(stripped) == len(data) and b"GPSLatitude" not in stripped
    with Image.open(io.BytesIO(data)) as before, Image.open(io.BytesIO(stripped)) as after:
        assert dict(before.getexif().get_ifd(0x8825)) and not dict(after.getexif().get_ifd(0x8825))
        assert after.getexif()[0x010F] == "Maker" and before.tobytes() == after.tobytes()


@pytest.mark.parametrize("exif", ["none", "without GPS", "without GPS, headed"])
def test_a_heic_without_a_position_is_unchanged(exif: str) -> None:
    plain = Image.Exif()
    plain[0x010F] = "Maker"
    headed = plain.tobytes()
    block = {"none": None, "without GPS": headed.removeprefix(b"Exif\x00\x00"), "without GPS, headed": headed}
    data = make_heic(exif=block[exif])
    assert strip_gps(data, "heic") == data


def test_the_corrupt_heic_fixtures_are_returned_as_they_are(fixtures: Path) -> None:
    for name in ("heic_corrupted.heic", "heic_truncated.heic"):
        data = (fixtures / name).read_bytes()
        assert strip_gps(data, "heic") == data, name
    for junk in (b"", b"\x00\x00\x00\x10ftypheic", b"\x00\x00\x00\x08ftyp" + bytes(40), b"\xff" * 64):
        assert strip_gps(junk, "heic") == junk


def test_heic_mutations_are_stripped_or_refused_never_anything_else() -> None:
    data = make_heic(exif=heif_exif().tobytes())
    rng = random.Random("heic")
    for _ in range(400):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        cut = bytes(mutated[: rng.randrange(1, len(mutated) + 1)])
        for sample in (bytes(mutated), cut):
            try:
                assert len(strip_gps(sample, "heic")) == len(sample)
            except UnsupportedImage as error:
                assert str(error).startswith("cannot remove the GPS position from this HEIC: ")


# Hand-built HEIF files: every ``iloc`` layout the stripper reads, and the ones it refuses.


def box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(body), kind) + body


def full_box(kind: bytes, version: int, body: bytes) -> bytes:
    return box(kind, bytes([version, 0, 0, 0]) + body)


@dataclass(frozen=True)
class Layout:
    """Where a hand-built HEIF says its Exif item is, and how it says it."""

    iloc_version: int = 1
    sizes: tuple[int, int, int, int] = (4, 4, 4, 0)  # offset, length, base offset, index
    iinf_version: int = 0
    infe_version: int = 2
    method: int = 0
    reference: int = 0
    protection: int = 0
    extents: int = 1
    start: int | None = None  # where the extent starts, when not at the item
    length: int | None = None  # the extent's length, when not the item's
    tiff_offset: int = 6  # the item's own offset to its TIFF header ("Exif\0\0" precedes it when 6)
    large_mdat: bool = False


def hand_built(tiff: bytes, layout: Layout = Layout()) -> tuple[bytes, int]:
    """A HEIF holding one Exif item (the TIFF block ``tiff``) in ``mdat``, and where the TIFF block starts."""
    header = b"Exif\x00\x00" if layout.tiff_offset == 6 else b""
    item = struct.pack(">I", layout.tiff_offset) + header + tiff
    ftyp = box(b"ftyp", b"heic\x00\x00\x00\x00mif1heic")
    id_format = ">H" if layout.infe_version == 2 else ">I"
    infe = full_box(b"infe", layout.infe_version, struct.pack(id_format + "H", 7, layout.protection) + b"Exif\x00")
    iinf = full_box(b"iinf", layout.iinf_version, struct.pack(">H" if layout.iinf_version == 0 else ">I", 1) + infe)
    hdlr = full_box(b"hdlr", 0, bytes(4) + b"pict" + bytes(13))
    filler = b"coded picture data" * 3

    def iloc(at: int) -> bytes:
        off, length, base, index = layout.sizes
        body = bytes([off << 4 | length, base << 4 | index])
        body += struct.pack(">H", 1) if layout.iloc_version < 2 else struct.pack(">I", 1)
        body += struct.pack(">H", 7) if layout.iloc_version < 2 else struct.pack(">I", 7)
        body += struct.pack(">H", layout.method) if layout.iloc_version else b""
        body += struct.pack(">H", layout.reference) + (at if base else 0).to_bytes(base, "big")
        pieces = [item] if layout.extents == 1 else [item[:10], item[10:]]
        body += struct.pack(">H", len(pieces))
        for piece in pieces:
            start = at if layout.start is None else layout.start
            body += bytes(index if layout.iloc_version else 0) + (start - at if base else start).to_bytes(off, "big")
            body += (len(piece) if layout.length is None else layout.length).to_bytes(length, "big")
            at += len(piece)
        return full_box(b"iloc", layout.iloc_version, body)

    mdat_header = 16 if layout.large_mdat else 8
    at = len(ftyp) + len(full_box(b"meta", 0, hdlr + iinf + iloc(0))) + mdat_header + len(filler)
    meta = full_box(b"meta", 0, hdlr + iinf + iloc(at))
    mdat_body = filler + item
    if layout.large_mdat:
        mdat = struct.pack(">I4sQ", 1, b"mdat", 16 + len(mdat_body))
    else:
        mdat = struct.pack(">I4s", 8 + len(mdat_body), b"mdat")
    return ftyp + meta + mdat + mdat_body, at + 4 + len(header)


def gps_at(data: bytes, start: int) -> dict[int, object]:
    exif = Image.Exif()
    exif.load(data[start:])
    return dict(exif.get_ifd(0x8825))


READ_LAYOUTS = [
    Layout(iloc_version=version, sizes=sizes)
    for version in (0, 1, 2)
    for sizes in ((4, 4, 0, 0), (8, 8, 0, 0), (4, 4, 4, 0), (8, 8, 8, 0), (4, 8, 4, 4), (8, 4, 0, 8))
    if version or not sizes[3]
] + [
    Layout(iloc_version=2, infe_version=3),
    Layout(iinf_version=1),
    Layout(tiff_offset=0),
    Layout(large_mdat=True),
]


def differences(layout: Layout) -> str:
    return ",".join(
        f"{f.name}={getattr(layout, f.name)}" for f in fields(layout) if getattr(layout, f.name) != f.default
    )


@pytest.mark.parametrize("layout", READ_LAYOUTS, ids=differences)
@pytest.mark.parametrize("endian", ["<", ">"])
def test_every_iloc_layout_is_read(layout: Layout, endian: str) -> None:
    tiff = heif_exif(endian).tobytes().removeprefix(b"Exif\x00\x00")
    data, start = hand_built(tiff, layout)
    assert gps_at(data, start) == EXIF_GPS
    stripped = strip_gps(data, "heic")
    assert len(stripped) == len(data) and gps_at(stripped, start) == {}
    assert stripped[:start] == data[:start]


REFUSED = {
    "is in the idat box": Layout(method=1),
    "is built by construction method 2": Layout(method=2),
    "is in 2 extents": Layout(extents=2),
    r"is in another file \(data reference 1\)": Layout(reference=1),
    "lies outside the file": Layout(length=10**6),
    "length is 0": Layout(length=0),
    "lies outside the mdat box": Layout(sizes=(4, 4, 0, 0), start=0),
    "is protected": Layout(protection=1),
    "has no TIFF header where it says": Layout(tiff_offset=3),
}


@pytest.mark.parametrize("why", sorted(REFUSED))
def test_an_exif_item_laid_out_otherwise_is_refused(why: str) -> None:
    data, _start = hand_built(heif_exif().tobytes().removeprefix(b"Exif\x00\x00"), REFUSED[why])
    with pytest.raises(
        UnsupportedImage, match=f"^cannot remove the GPS position from this HEIC: its Exif item('s)? {why}"
    ):
        strip_gps(data, "heic")


@pytest.mark.parametrize(
    ("why", "layout"),
    [("is version 3", Layout(iloc_version=3)), ("has fields of unknown sizes", Layout(sizes=(2, 4, 0, 0)))],
)
def test_an_iloc_box_it_does_not_read_is_refused(why: str, layout: Layout) -> None:
    data, _start = hand_built(heif_exif().tobytes().removeprefix(b"Exif\x00\x00"), layout)
    with pytest.raises(UnsupportedImage, match=f"HEIC: its iloc box {why}$"):
        strip_gps(data, "heic")


def test_a_meta_box_it_cannot_read_is_refused() -> None:
    """libheif read the ``meta`` box if the upload got this far: one the stripper cannot read is refused."""
    data, _start = hand_built(heif_exif().tobytes().removeprefix(b"Exif\x00\x00"))
    iloc = data.index(b"iloc") + 4  # then version and flags (4), field sizes (2), item count (2), item id (2)
    broken = {
        "its meta box has 0 iloc boxes": data.replace(b"iloc", b"free"),
        "its iloc box is cut short": data[: iloc + 6] + b"\xff\xff" + data[iloc + 8 :],
        "its Exif item has no location": data[: iloc + 8] + b"\x00\x09" + data[iloc + 10 :],
        "its meta box is cut short": b"\x00\x00\x00\x08meta" + bytes(40),
        "a box in its meta box does not fit": data.replace(b"\x00\x00\x00!hdlr", b"\x00\x00\xff!hdlr"),
    }
    for why, sample in broken.items():
        with pytest.raises(UnsupportedImage, match=f"^cannot remove the GPS position from this HEIC: {why}$"):
            strip_gps(sample, "heic")


def test_items_the_stripper_does_not_know_are_left_alone() -> None:
    data, _start = hand_built(heif_exif().tobytes().removeprefix(b"Exif\x00\x00"))
    for other in (data.replace(b"Exif\x00\x00\x00\x00", b"hvc1\x00\x00\x00\x00", 1), data.replace(b"meta", b"free")):
        assert strip_gps(other, "heic") == other


def exif_outside_mdat(data: bytes) -> bytes:
    """``data`` with its Exif item copied to a ``free`` box at the end: libheif reads it there, the stripper
    refuses it. (pillow-heif writes ``iloc`` version 0: base offset, 1 extent at 0, its length.)"""
    mdat = data.index(b"mdat") - 4
    start = data.index(b"Exif\x00\x00MM\x00*", mdat) - 4
    pointer = data.index(struct.pack(">I", start), 0, mdat)
    length = struct.unpack_from(">I", data, pointer + 10)[0]
    item = data[start : start + length]
    return data[:pointer] + struct.pack(">I", len(data) + 8) + data[pointer + 4 :] + box(b"free", item)


@pytest.mark.parametrize("strip", [True, False])
def test_put_strips_a_heic_when_asked(tmp_path: Path, fixtures: Path, strip: bool) -> None:
    storage = Storage(LocalBackend(tmp_path / "media", PUBLIC_URL), SECRET_KEYS, strip_gps=strip)
    source = (fixtures / "heic_iphone_xs_p3.heic").read_bytes()
    media_id = storage.put(source, filename="IMG_0042.HEIC")
    key = storage.original_key(media_id)
    stored = (tmp_path / "media" / key).read_bytes()
    assert key.endswith("/img_0042.heic") and len(stored) == len(source) and (stored == source) is not strip
    assert [bool(gps) for gps, _exif in heif_metadata(stored)] == [not strip, not strip]
    made = storage.create_resize(storage.resize_key(media_id, (400, 300), mode="fill", format="jpg"))
    with Image.open(io.BytesIO((tmp_path / "media" / made.key).read_bytes())) as image:
        assert image.size == (400, 300)


def test_put_refuses_a_heic_whose_position_it_cannot_remove(tmp_path: Path) -> None:
    data = exif_outside_mdat(make_heic(exif=heif_exif().tobytes()))
    assert [gps for gps, _exif in heif_metadata(data)] == [EXIF_GPS], "libheif reads the moved item"
    storing = Storage(LocalBackend(tmp_path / "kept", PUBLIC_URL), SECRET_KEYS)
    assert storing.put(data, filename="moved.heic")
    stripping = Storage(LocalBackend(tmp_path / "media", PUBLIC_URL), SECRET_KEYS, strip_gps=True)
    with pytest.raises(UnsupportedImage, match="cannot remove the GPS position from this HEIC: .*outside"):
        stripping.put(data, filename="moved.heic")
    assert not (tmp_path / "media").exists() or not any(path.is_file() for path in (tmp_path / "media").rglob("*"))
