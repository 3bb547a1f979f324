"""The resize grammar: canonical names, strict parsing, defaults."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shiftmedia.errors import InvalidSpec
from shiftmedia.spec import (
    FORMATS,
    GRAVITIES,
    LOSSY_FORMATS,
    MAX_SIDE,
    MAX_TIME_MS,
    MODES,
    ResizeSpec,
    looks_like_derivative,
    parse_signed_name,
    parse_size,
)

SIG = "A" * 20 + "-_" + "b" * 20 + "w"


@pytest.mark.parametrize(
    ("spec", "name"),
    [
        (ResizeSpec.create("400x300"), "400x300-fit-80-noupscale.webp"),
        (ResizeSpec.create("400x0", format="jpg"), "400x0-fit-85-noupscale.jpg"),
        (ResizeSpec.create(320, format="jpeg", quality=70), "320x0-fit-70-noupscale.jpg"),
        (ResizeSpec.create("0x200", format="png", quality=90), "0x200-fit-0-noupscale.png"),
        (ResizeSpec.create((50, 60), mode="fill", gravity="ne", format="avif"), "50x60-fill-60-noupscale-gne.avif"),
        (
            ResizeSpec.create("10x10", mode="pad", background="#FF0000", upscale=True, format="gif"),
            "10x10-pad-0-upscale-bgff0000.gif",
        ),
        (
            ResizeSpec.create("10x10", mode="pad", background="12345600", format="png"),
            "10x10-pad-0-noupscale-bg00000000.png",
        ),
        (ResizeSpec.create("10x10", background="000000", format="jpg"), "10x10-fit-85-noupscale-bg000000.jpg"),
        (
            ResizeSpec.create("300x200", mode="fill", gravity=(0.25, 0.7), format="jpg"),
            "300x200-fill-85-noupscale-gf250x700.jpg",
        ),
        (
            ResizeSpec.create("300x0", mode="crop", rect=(10, 0, 640, 480), format="png"),
            "300x0-crop-0-noupscale-r10x0x640x480.png",
        ),
        (
            ResizeSpec.create("300x300", mode="crop", rect=(0, 0, 9, 9), gravity="n", upscale=True),
            "300x300-crop-80-upscale-r0x0x9x9-gn.webp",
        ),
        (ResizeSpec.create("64x64", keep_icc=True, format="avif"), "64x64-fit-60-noupscale-icc.avif"),
        (ResizeSpec.create("400x300", format="jpg", time=12.5), "400x300-fit-85-noupscale-t12.5.jpg"),
        (ResizeSpec.create("400x300", format="jpg", time=12), "400x300-fit-85-noupscale-t12.jpg"),
        (ResizeSpec.create("400x300", format="jpg", time=0.25), "400x300-fit-85-noupscale-t0.25.jpg"),
        (ResizeSpec.create("400x300", format="jpg", time=0.1 + 0.2), "400x300-fit-85-noupscale-t0.3.jpg"),
        (ResizeSpec.create("400x300", format="jpg", time=3600.0005), "400x300-fit-85-noupscale-t3600.jpg"),
        (ResizeSpec.create("400x300", format="jpg", time=1.007), "400x300-fit-85-noupscale-t1.007.jpg"),
        (
            ResizeSpec.create("300x0", mode="crop", rect=(1, 2, 3, 4), gravity="n", keep_icc=True, time=99999.999),
            "300x0-crop-80-noupscale-t99999.999-r1x2x3x4-gn-icc.webp",
        ),
    ],
)
def test_canonical_names(spec: ResizeSpec, name: str) -> None:
    assert spec.name() == name
    assert ResizeSpec.parse(name) == spec


@pytest.mark.parametrize(
    "name",
    [
        "400x300-fit-80-noupscale.WEBP",
        "0400x300-fit-80-noupscale.webp",
        "400x0300-fit-80-noupscale.webp",
        "400x300-fit-080-noupscale.webp",
        "400x300-fit-101-noupscale.webp",
        "400x300-fit-0-noupscale.webp",
        "400x300-fit-80-noupscale.png",
        "400x300-fit-80.webp",
        "400x300-FIT-80-noupscale.webp",
        "400x300-crop-80-noupscale.webp",
        "0x0-fit-80-noupscale.webp",
        "400x0-fill-80-noupscale.webp",
        "400x300-fill-80-noupscale-gc.webp",
        "400x300-fit-80-noupscale-gne.webp",
        "400x300-fill-80-noupscale-gq.webp",
        "400x300-pad-80-noupscale-bgffffff.webp",
        "400x300-pad-80-noupscale-bgFF0000.webp",
        "400x300-pad-80-noupscale-bgff0000ff.webp",
        "400x300-pad-80-noupscale-bgff000000.webp",
        "400x300-pad-80-noupscale-bgff0000-gn.webp",
        "400x300-pad-80-noupscale-gn-gn.webp",
        "400x300-fit-80-noupscale-bg000000.webp",
        "400x300-fit-80-noupscale.jpeg",
        "400x300-fit-80-noupscale.tiff",
        "400x300-fit-80-noupscale",
        "400x300-fit-80-noupscale.webp.webp",
        " 400x300-fit-80-noupscale.webp",
        "400x300-fit-80-noupscale.webp\n",
        f"{MAX_SIDE + 1}x1-fit-80-noupscale.webp",
        "",
        "400x300-fill-80-noupscale-r0x0x10x10.webp",
        "400x300-crop-80-noupscale-r0x0x0x10.webp",
        "400x300-crop-80-noupscale-r00x0x10x10.webp",
        "400x300-crop-80-noupscale-r0x0x10.webp",
        "400x300-crop-80-noupscale-gn-r0x0x10x10.webp",
        "400x300-fill-80-noupscale-gf1001x0.webp",
        "400x300-fill-80-noupscale-gf050x0.webp",
        "400x300-pad-80-noupscale-gf500x500.webp",
        "400x300-fit-80-noupscale-icc-icc.webp",
        "400x300-fit-80-noupscale-icc-bg000000.jpg",
        "400x300-fit-80-noupscale-iccx.webp",
        "400x300-fit-80-noupscale-t0.webp",
        "400x300-fit-80-noupscale-t0.0.webp",
        "400x300-fit-80-noupscale-t00.5.webp",
        "400x300-fit-80-noupscale-t012.webp",
        "400x300-fit-80-noupscale-t12.50.webp",
        "400x300-fit-80-noupscale-t12.0.webp",
        "400x300-fit-80-noupscale-t12..webp",
        "400x300-fit-80-noupscale-t12.webp.webp",
        "400x300-fit-80-noupscale-t.5.webp",
        "400x300-fit-80-noupscale-t1.0001.webp",
        "400x300-fit-80-noupscale-t1e3.webp",
        "400x300-fit-80-noupscale-t-1.webp",
        "400x300-fit-80-noupscale-t100000.webp",
        "400x300-fit-80-noupscale-t1-t2.webp",
        "400x300-fit-80-noupscale-icc-t1.webp",
        "400x300-fit-80-noupscale-T1.webp",
        "400x300-fit-80-noupscale-t1.5x.webp",
    ],
)
def test_rejects_non_canonical(name: str) -> None:
    with pytest.raises(InvalidSpec):
        ResizeSpec.parse(name)


def test_signed_name_round_trip() -> None:
    spec = ResizeSpec.create("400x300", mode="fill", gravity="sw", format="jpg")
    name = spec.signed_name(SIG)
    assert name == f"400x300-fill-85-noupscale-gsw-{SIG}.jpg"
    assert parse_signed_name(name) == (spec, SIG)


def test_a_frame_time_round_trips_signed() -> None:
    spec = ResizeSpec.create("400x225", format="jpg", time=12.5)
    name = spec.signed_name(SIG)
    assert name == f"400x225-fit-85-noupscale-t12.5-{SIG}.jpg"
    assert parse_signed_name(name) == (spec, SIG)
    assert spec.time_ms == 12500


@pytest.mark.parametrize("time", [0, 0.0004, -1, 100000, float("nan"), float("inf"), True, "12.5"])
def test_create_refuses_a_frame_time_no_name_spells(time: object) -> None:
    with pytest.raises(InvalidSpec, match="frame time"):
        ResizeSpec.create("400x300", time=time)  # type: ignore[arg-type]


def test_no_time_is_the_representative_frame() -> None:
    assert ResizeSpec.create("400x300").time_ms is None
    assert ResizeSpec.create("400x300", time=None) == ResizeSpec.create("400x300")


@pytest.mark.parametrize(
    "name",
    [
        "400x300-fit-80-noupscale.webp",
        f"400x300-fit-80-noupscale-{SIG[:-1]}.webp",
        f"400x300-fit-80-noupscale-{SIG}x.webp",
        f"400x300-fit-80-noupscale-{SIG.replace('A', '=', 1)}.webp",
        f"400x300-fit-80-noupscale-gne-{SIG}.webp",
        f"400x300-fit-80-noupscale-t1.50-{SIG}.webp",
    ],
)
def test_signed_name_rejects(name: str) -> None:
    with pytest.raises(InvalidSpec):
        parse_signed_name(name)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"width": 1, "height": 1, "quality": True}, "quality"),
        ({"width": 1.5, "height": 1}, "width"),
        ({"width": -1, "height": 1}, "between"),
        ({"width": 1, "height": 1, "format": "bmp"}, "format"),
        ({"width": 1, "height": 1, "upscale": 1}, "upscale"),
    ],
)
def test_constructor_validates(kwargs: dict, message: str) -> None:
    with pytest.raises(InvalidSpec, match=message):
        ResizeSpec(**kwargs)


def test_parse_size() -> None:
    assert parse_size("400x300") == (400, 300)
    assert parse_size("400") == (400, 0)
    assert parse_size(400) == (400, 0)
    assert parse_size((4, 3)) == (4, 3)
    for bad in ("400x", "x300", "4OO", "400*300", True, (1,), (1.0, 2), "400x300x2"):
        with pytest.raises(InvalidSpec):
            parse_size(bad)  # type: ignore[arg-type]


def test_originals_never_look_like_derivatives() -> None:
    assert looks_like_derivative("400x300-fit-80-noupscale-x.webp")
    assert not looks_like_derivative("photo.jpg")
    assert not looks_like_derivative("400x300.jpg")


@st.composite
def specs(draw: st.DrawFn) -> ResizeSpec:
    mode = draw(st.sampled_from(MODES))
    fmt = draw(st.sampled_from(FORMATS))
    low = 0 if mode in ("fit", "crop") else 1
    width = draw(st.integers(low, MAX_SIDE))
    height = draw(st.integers(low if width else 1, MAX_SIDE))
    quality = draw(st.integers(1, 100)) if fmt in LOSSY_FORMATS else 0
    gravity = "c"
    if mode != "fit":
        focal = st.tuples(st.integers(0, 1000), st.integers(0, 1000)).map(lambda p: f"f{p[0]}x{p[1]}")
        gravity = draw(st.sampled_from(GRAVITIES) | (st.nothing() if mode == "pad" else focal))
    background = "ffffff"
    if mode == "pad" or fmt == "jpg":
        background = draw(st.sampled_from(["ffffff", "000000", "12ab34", "00000000", "12345678"]))
    rect = None
    if mode == "crop":
        rect = draw(
            st.tuples(st.integers(0, 99999), st.integers(0, 99999), st.integers(1, 99999), st.integers(1, 99999))
        )
    time_ms = draw(st.none() | st.integers(1, MAX_TIME_MS))
    return ResizeSpec(
        width, height, mode, quality, draw(st.booleans()), fmt, gravity, background, rect, draw(st.booleans()), time_ms
    )


@given(specs())
def test_round_trip(spec: ResizeSpec) -> None:
    assert ResizeSpec.parse(spec.name()) == spec
    assert parse_signed_name(spec.signed_name(SIG)) == (spec, SIG)


@given(specs(), st.integers(0, 60), st.characters(codec="utf-8"))
@settings(max_examples=300)
def test_one_spelling_per_resize(spec: ResizeSpec, position: int, char: str) -> None:
    """Any one-character edit of a canonical name is rejected or names another resize."""
    name = spec.name()
    position %= len(name) + 1
    for edited in (name[:position] + char + name[position:], name[:position] + name[position + 1 :]):
        if edited == name:
            continue
        try:
            other = ResizeSpec.parse(edited)
        except InvalidSpec:
            continue
        assert other != spec
        assert other.name() == edited


@given(st.text(max_size=80))
def test_junk_is_rejected_or_canonical(text: str) -> None:
    try:
        spec = ResizeSpec.parse(text)
    except InvalidSpec:
        return
    assert spec.name() == text


def test_package_exports_the_engine_entry_point(fixtures) -> None:  # type: ignore[no-untyped-def]
    import io

    from PIL import Image

    import shiftmedia

    data = (fixtures / "png_palette_trns.png").read_bytes()
    out = shiftmedia.resize_bytes(data, "120x90-fill-0-noupscale.png")
    assert Image.open(io.BytesIO(out)).size == (120, 90)
    assert shiftmedia.resize_bytes(data, shiftmedia.ResizeSpec.create("120x90", mode="fill", format="png")) == out


def test_a_signature_has_one_spelling() -> None:
    """The last base64url character carries 2 ignored bits: only the spelling with them zero parses."""
    spec = ResizeSpec.create("400x300")
    canonical = [
        c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" if "AEIMQUYcgkosw048".count(c)
    ]
    assert len(canonical) == 16
    for last in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_":
        name = f"400x300-fit-80-noupscale-{SIG[:-1]}{last}.webp"
        if last in canonical:
            assert parse_signed_name(name)[0] == spec
        else:
            with pytest.raises(InvalidSpec):
                parse_signed_name(name)
            with pytest.raises(InvalidSpec):
                spec.signed_name(SIG[:-1] + last)
