"""The real-world corpus: every decodable file × mode × format, and the known hard cases.

Skipped with a reason when the corpus directory is absent (see conftest).
"""

from __future__ import annotations

import io
import math
import statistics
import time
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageCms, ImageStat

from shiftmedia.engine import probe, render
from shiftmedia.errors import InvalidImage, LimitExceeded
from shiftmedia.spec import FORMATS, ResizeSpec

from .test_lossless_jpeg import lossless_jpeg

PILLOW_FORMATS = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP", "avif": "AVIF", "gif": "GIF"}


def _decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _render(path: Path, name: str) -> Image.Image:
    return _decode(render(path.read_bytes(), ResizeSpec.parse(name)).data)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("mode", ["fit", "fill", "pad"])
def test_matrix(corpus: Path, corpus_file: str, mode: str, fmt: str) -> None:
    data = (corpus / corpus_file).read_bytes()
    info = probe(data)
    spec = ResizeSpec.create((200, 150), mode=mode, format=fmt)
    rendered = render(data, spec)
    decoded = _decode(rendered.data)
    assert decoded.format == PILLOW_FORMATS[fmt]
    assert decoded.size == (rendered.width, rendered.height)
    if mode == "pad":
        assert decoded.size == (200, 150)
    else:
        assert decoded.width <= 200 and decoded.height <= 150
        assert decoded.width == min(200, info.width) or decoded.height == min(150, info.height)
    if mode == "fit":
        assert (
            abs(decoded.width / decoded.height - info.width / info.height)
            < 0.02 * info.width / info.height + 1 / decoded.height
        )
    assert 0x0112 not in decoded.getexif()
    assert "icc_profile" not in decoded.info


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientations_look_the_same(corpus: Path, orientation: int) -> None:
    def thumbnail(number: int) -> Image.Image:
        return _render(corpus / f"exif_orient_{number}.jpg", "90x60-fill-0-noupscale.png").convert("RGB")

    reference = thumbnail(1)
    result = thumbnail(orientation)
    assert result.size == (90, 60)
    difference = sum(ImageStat.Stat(ImageChops.difference(reference, result)).mean) / 3
    print(f"orientation {orientation}: mean abs difference {difference:.2f}")
    assert difference < 3


@pytest.mark.parametrize("fmt", ["TIFF", "PNG", "WEBP"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientations_look_the_same_in_every_format(corpus: Path, orientation: int, fmt: str) -> None:
    """The same photos' pixels as stored, tagged with the same orientation, in
    other formats: TIFF (whose reader turns the pixels itself), PNG (eXIf) and
    WebP (EXIF chunk) show what the JPEG shows."""
    reference = _render(corpus / "exif_orient_1.jpg", "90x60-fill-0-noupscale.png").convert("RGB")
    with Image.open(corpus / f"exif_orient_{orientation}.jpg") as photo:
        stored = photo.reduce(4)
        exif = photo.getexif()
    data = io.BytesIO()
    stored.save(data, fmt, exif=exif.tobytes(), **({"quality": 95} if fmt == "WEBP" else {}))
    assert probe(data.getvalue()).width == 450
    result = _decode(render(data.getvalue(), ResizeSpec.parse("90x60-fill-0-noupscale.png")).data).convert("RGB")
    assert result.size == (90, 60)
    difference = sum(ImageStat.Stat(ImageChops.difference(reference, result)).mean) / 3
    print(f"{fmt} orientation {orientation}: mean abs difference {difference:.2f}")
    assert difference < 3


@pytest.mark.parametrize(("name", "mode"), [("jpeg_grayscale_800x533.jpg", "L"), ("exif_orient_6.jpg", "RGB")])
def test_lossless_jpeg_of_a_photo_renders_at_every_size(corpus: Path, name: str, mode: str) -> None:
    """A photo written as lossless JPEG (SOF3) passes the upload check and renders
    at every size, byte for byte as a PNG of the same pixels does (a DCT JPEG
    would decode at 1/8, 1/4, 3/8, 1/2 and in full for these widths)."""
    with Image.open(corpus / name) as photo:
        pixels = photo.reduce(6).convert(mode)
        exif = photo.getexif()
    data = lossless_jpeg(pixels, predictor=6, exif=exif.tobytes() if exif else None)
    same = io.BytesIO()
    pixels.save(same, "PNG", exif=exif)
    info = probe(data)
    assert (info.format, info.mode) == ("jpg", mode)
    for width in (16, 30, 50, 70, 130):
        spec = ResizeSpec.create((width, 0), format="webp")
        assert render(data, spec).data == render(same.getvalue(), spec).data


def test_camera_portrait_orientation_6(corpus: Path) -> None:
    assert _render(corpus / "cam_10mp_canon_1000d_orient6.jpg", "300x300-fit-80-noupscale.jpg").size == (200, 300)


def test_cmyk_fogra39_red_is_red_in_srgb(corpus: Path) -> None:
    red, green, blue = ImageStat.Stat(_render(corpus / "tiff_cmyk_fogra39.tif", "100x100-fit-0-noupscale.png")).mean
    print(f"FOGRA39 0/100/100/0 → sRGB ({red:.0f}, {green:.0f}, {blue:.0f})")  # measured: (227, 6, 20)
    assert red > 215 and green < 30 and blue < 40


def test_cmyk_with_profile_goes_through_it(corpus: Path) -> None:
    path = corpus / "jpeg_cmyk_swop_icc.jpg"
    through_profile = ImageStat.Stat(_render(path, "100x0-fit-0-noupscale.png")).mean
    naive = ImageStat.Stat(Image.open(path).convert("RGB").resize((100, 67))).mean
    print(f"SWOP via ICC {through_profile}, naive {naive}")
    assert max(abs(a - b) for a, b in zip(through_profile, naive, strict=True)) > 5


def test_cmyk_without_profile_is_not_inverted(corpus: Path) -> None:
    cmyk = ImageStat.Stat(
        _render(corpus / "jpeg_cmyk_orient6_noicc.jpg", "100x0-fit-0-noupscale.png").convert("L")
    ).mean[0]
    grey = ImageStat.Stat(_render(corpus / "jpeg_grayscale_800x533.jpg", "100x0-fit-0-noupscale.png")).mean[0]
    assert abs(cmyk - grey) < 15, "same dark photo: an inverted CMYK would be bright"


def test_cmyk_orientation_applies(corpus: Path) -> None:
    assert _render(corpus / "jpeg_cmyk_orient6_noicc.jpg", "100x100-fit-0-noupscale.png").size == (67, 100)


def test_adobe_rgb_is_converted(corpus: Path) -> None:
    path = corpus / "jpeg_adobe_rgb_icc_canon7d.jpg"
    converted = _render(path, "60x0-fit-0-noupscale.png").convert("RGB")
    naive = Image.open(path).convert("RGB").resize(converted.size, Image.Resampling.LANCZOS)
    saturation = ImageStat.Stat(converted.convert("HSV").getchannel("S")).mean[0]
    naive_saturation = ImageStat.Stat(naive.convert("HSV").getchannel("S")).mean[0]
    assert saturation > naive_saturation, "Adobe RGB shown as sRGB looks washed out"


def test_sixteen_bit_png_keeps_its_colours(corpus: Path) -> None:
    flag = _render(corpus / "png_16bit_rgb_900x600.png", "90x60-fit-0-noupscale.png").convert("RGB")
    assert flag.getpixel((45, 5)) == (174, 28, 40)
    assert flag.getpixel((45, 30)) == (255, 255, 255)
    assert flag.getpixel((45, 55)) == (33, 70, 139)


def test_sixteen_bit_png_with_trns_is_transparent(corpus: Path) -> None:
    result = _render(corpus / "png_16bit_rgb_trns_pngsuite.png", "32x32-fit-0-noupscale.png")
    assert result.mode == "RGBA" and result.getchannel("A").getextrema() == (0, 255)


def test_palette_with_trns_keeps_transparency(corpus: Path) -> None:
    result = _render(corpus / "png_palette_trns.png", "150x0-fit-0-noupscale.png")
    assert result.mode == "RGBA" and result.getpixel((0, 0))[3] == 0


def test_rgba_to_jpeg_is_white_where_transparent(corpus: Path) -> None:
    source = Image.open(corpus / "png_rgba_2048x1536.png")
    assert source.getpixel((0, 0))[3] == 0
    result = _render(corpus / "png_rgba_2048x1536.png", "200x150-fit-85-noupscale.jpg")
    assert min(result.getpixel((0, 0))) > 245


def test_animated_gif_keeps_44_frames_and_durations(corpus: Path) -> None:
    rendered = render(
        (corpus / "gif_animated_earth_44f.gif").read_bytes(), ResizeSpec.parse("100x100-fit-0-noupscale.gif")
    )
    decoded = _decode(rendered.data)
    assert rendered.frames == decoded.n_frames == 44
    assert decoded.info["loop"] == 65535
    durations = set()
    for index in range(44):
        decoded.seek(index)
        durations.add(decoded.info["duration"])
    assert durations == {90}


@pytest.mark.parametrize("name", ["gif_animated_trns_30f.gif", "webp_animated_10f.webp"])
def test_animation_total_time_is_kept(corpus: Path, name: str) -> None:
    def total(image: Image.Image) -> int:
        spent = 0
        for index in range(image.n_frames):
            image.seek(index)
            image.load()
            spent += image.info["duration"]
        return spent

    source = Image.open(corpus / name)
    for fmt in ("gif", "webp"):
        decoded = _decode(render((corpus / name).read_bytes(), ResizeSpec.create((60, 60), format=fmt)).data)
        assert decoded.n_frames > 1
        assert total(decoded) == total(source)


@pytest.mark.parametrize("name", ["gif_animated_earth_44f.gif", "webp_animated_10f.webp"])
@pytest.mark.parametrize("fmt", ["jpg", "png", "avif"])
def test_animated_to_still_format_is_one_frame(corpus: Path, name: str, fmt: str) -> None:
    rendered = render((corpus / name).read_bytes(), ResizeSpec.create((60, 60), format=fmt))
    assert rendered.frames == 1 and getattr(_decode(rendered.data), "n_frames", 1) == 1


def test_bomb_is_refused_in_milliseconds(corpus: Path) -> None:
    data = (corpus / "bomb_280mp_20000x14000.jpg").read_bytes()
    timings = []
    for entry in (probe, lambda d: render(d, ResizeSpec.parse("400x400-fill-85-noupscale.jpg"))):
        started = time.perf_counter()
        with pytest.raises(LimitExceeded):
            entry(data)
        timings.append(time.perf_counter() - started)
    print(f"bomb refused in {', '.join(f'{t * 1000:.2f} ms' for t in timings)}")
    assert max(timings) < 0.5


@pytest.mark.parametrize("name", ["bad_truncated.jpg", "bad_truncated.png", "bad_corrupt_header.jpg"])
def test_bad_files_are_invalid(corpus: Path, name: str) -> None:
    data = (corpus / name).read_bytes()
    with pytest.raises(InvalidImage):
        probe(data)
    with pytest.raises(InvalidImage):
        render(data, ResizeSpec.parse("200x150-fit-85-noupscale.jpg"))


def test_22mp_thumbnail_is_fast_and_sharp(corpus: Path) -> None:
    data = (corpus / "cam_22mp_5760x3840.jpg").read_bytes()
    spec = ResizeSpec.parse("400x400-fill-85-noupscale.jpg")
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        rendered = render(data, spec)
        timings.append(time.perf_counter() - started)
    median = statistics.median(timings)
    print(f"22 MP → 400x400 fill jpg: median {median * 1000:.1f} ms")
    assert (rendered.width, rendered.height) == (400, 400)
    assert median < 2.0


def _psnr(image: Image.Image, expected: Image.Image) -> float:
    """PSNR in dB of two RGB images of one size (inf when identical)."""
    squares = sum(ImageStat.Stat(ImageChops.difference(image, expected)).sum2)
    mse = squares / (image.size[0] * image.size[1] * 3)
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


@pytest.mark.parametrize("name", ["jpeg_cmyk_swop_icc.jpg", "tiff_cmyk_fogra39.tif"])
def test_cmyk_output_is_the_colour_managed_conversion_not_the_naive_one(corpus: Path, name: str) -> None:
    with Image.open(corpus / name) as source:
        source.load()
        profile = ImageCms.ImageCmsProfile(io.BytesIO(source.info["icc_profile"]))
        managed = ImageCms.profileToProfile(
            source,
            profile,
            ImageCms.createProfile("sRGB"),
            renderingIntent=ImageCms.Intent.PERCEPTUAL,
            outputMode="RGB",
        )
        naive = source.convert("RGB")
    full = _render(corpus / name, f"{managed.width}x0-fit-0-noupscale.png").convert("RGB")
    half = _render(corpus / name, f"{managed.width // 2}x0-fit-0-noupscale.png").convert("RGB")
    naive_error = _psnr(naive, managed)
    half_managed = _psnr(half, managed.resize(half.size, Image.Resampling.LANCZOS))
    half_naive = _psnr(half, naive.resize(half.size, Image.Resampling.LANCZOS))
    print(
        f"{name}: naive convert('RGB') is {naive_error:.1f} dB from the managed conversion; "
        f"our half-size output {half_managed:.1f} dB from managed, {half_naive:.1f} dB from naive"
    )
    assert naive_error < 30, "the naive conversion is measurably wrong"
    assert _psnr(full, managed) == math.inf, "at full size we output exactly the managed conversion"
    assert half_managed > 40, "our output follows the managed conversion"
    assert half_naive < 30, "and stays measurably away from the naive one"


def test_the_manifest_names_the_corpus(corpus: Path) -> None:
    """tests/corpus-files.txt lists the decodable corpus, so its tests are counted where it is absent."""
    from .conftest import CORPUS_MANIFEST, decodable_corpus_files

    assert CORPUS_MANIFEST.read_text().split() == decodable_corpus_files()


def test_without_the_corpus_the_run_says_how_many_tests_did_not_run(tmp_path: Path) -> None:
    """A clone without ../shared sees every corpus test counted as skipped, and one plain line about it."""
    import os
    import subprocess
    import sys

    from ..conftest import CORPUS_MISSING, REPO

    env = {**os.environ, "SHIFTMEDIA_CORPUS": str(tmp_path / "absent")}
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/engine/test_corpus.py",
        "-k",
        "matrix",
    ]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    expected = 3 * 5 * len((REPO / "tests" / "corpus-files.txt").read_text().split())
    assert f"{expected} skipped" in result.stdout, result.stdout[-2000:]
    assert f"{expected} corpus tests did not run: {CORPUS_MISSING}" in result.stdout
