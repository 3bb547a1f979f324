"""Large outputs are made in bands on two threads: same pixels, no seam, same bytes every time."""

from __future__ import annotations

import io
import random
import threading

import pytest
from PIL import Image, ImageChops, ImageStat

from shiftmedia.engine import bands, render
from shiftmedia.engine.colour import to_srgb
from shiftmedia.engine.orient import displayed_size, orient
from shiftmedia.engine.plan import make_plan
from shiftmedia.engine.scale import resample
from shiftmedia.spec import ResizeSpec


def _noise(size: tuple[int, int]) -> Image.Image:
    """Detailed RGB content, the same every run: gradients under seeded noise."""
    base = Image.merge(
        "RGB",
        [
            Image.linear_gradient("L").resize(size),
            Image.radial_gradient("L").resize(size),
            Image.linear_gradient("L").rotate(90).resize(size),
        ],
    )
    noise = Image.frombytes("RGB", size, random.Random(7).randbytes(size[0] * size[1] * 3))
    return Image.blend(base, noise, 0.1)


def _max_difference(first: Image.Image, second: Image.Image) -> int:
    """The largest difference of any channel of any pixel.

    A band is not always bit-identical to the same rows of the whole: Pillow
    rounds to 8 bits between its two passes and may run them in the other
    order for a band of another shape, so values differ by 1, rarely up to 3
    (Lanczos' negative lobes amplify a rounding step of the first pass)."""
    return max(high for _low, high in ImageChops.difference(first, second).getextrema())


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((400, 400), [(0, 400)]),
        ((499, 500), [(0, 500)]),
        ((500, 500), [(0, 250), (250, 500)]),
        ((1280, 853), [(0, 426), (426, 853)]),
        ((250_000, 1), [(0, 1)]),
    ],
)
def test_cut_depends_on_the_output_size_only(size: tuple[int, int], expected: list[tuple[int, int]]) -> None:
    assert bands.cut(size) == expected


def test_assemble_pastes_each_band_at_its_rows_using_two_threads() -> None:
    threads: set[str] = set()

    def make(rows: bands.Rows) -> Image.Image:
        threads.add(threading.current_thread().name)
        return Image.new("L", (600, rows[1] - rows[0]), rows[0] // 2)

    result = bands.assemble(make, (600, 500), 1)
    assert result.size == (600, 500) and result.info == {}
    assert result.getpixel((0, 0)) == 0 and result.getpixel((599, 249)) == 0
    assert result.getpixel((0, 250)) == 125 and result.getpixel((599, 499)) == 125
    assert len(threads) == bands.BANDS


@pytest.mark.parametrize("orientation", range(1, 9))
def test_assemble_places_each_upright_band_where_it_shows(samples, orientation: int) -> None:
    upright = samples.quadrants((640, 480))
    stored = samples.stored(upright, orientation)

    def make(rows: bands.Rows) -> Image.Image:
        return orient(stored.crop((0, rows[0], stored.size[0], rows[1])), orientation)

    assert bands.assemble(make, stored.size, orientation).tobytes() == upright.tobytes()


def test_assemble_raises_what_a_band_raised() -> None:
    def make(rows: bands.Rows) -> Image.Image:
        if rows[0]:
            raise OSError("broken band")
        return Image.new("L", (600, rows[1]))

    with pytest.raises(OSError, match="broken band"):
        bands.assemble(make, (600, 500), 1)


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize(
    "name",
    ["900x700-fit-0-noupscale.png", "1000x0-fit-0-noupscale.png", "700x700-crop-0-upscale-r100x50x1100x750.png"],
)
def test_banded_resample_is_the_whole_one_up_to_rounding(samples, orientation: int, name: str) -> None:
    upright = _noise((1200, 800))
    stored = samples.stored(upright, orientation)
    plan = make_plan(upright.size, ResizeSpec.parse(name))
    extent = (float(stored.size[0]), float(stored.size[1]))
    whole = orient(resample(stored, plan, orientation, extent), orientation)

    def band(rows: bands.Rows) -> Image.Image:
        return orient(resample(stored, plan, orientation, extent, rows), orientation)

    stored_size = displayed_size(plan.scaled, orientation)
    banded = bands.assemble(band, stored_size, orientation)
    assert len(bands.cut(stored_size)) == 2
    assert banded.size == whole.size == plan.scaled
    assert _max_difference(banded, whole) <= 3
    assert max(ImageStat.Stat(ImageChops.difference(banded, whole)).mean) < 0.5


def test_large_outputs_are_the_same_bytes_every_time(samples) -> None:
    data = samples.encode(samples.stored(_noise((1600, 1200)), 6), "JPEG", quality=90)
    outputs = {render(data, ResizeSpec.parse("1000x0-fit-85-noupscale.jpg")).data for _ in range(4)}
    assert len(outputs) == 1


def test_each_band_is_converted_through_the_profile(fixtures) -> None:
    data = (fixtures / "tiff_cmyk_fogra39.tif").read_bytes()
    spec = ResizeSpec.parse("800x800-fit-0-noupscale.png")
    with Image.open(io.BytesIO(data)) as source:
        plan = make_plan(source.size, spec)
        whole = to_srgb(resample(source, plan, 1, (float(source.size[0]), float(source.size[1]))))
    assert len(bands.cut(plan.scaled)) == 2
    with Image.open(io.BytesIO(render(data, spec).data)) as result:
        assert result.mode == "RGB" and "icc_profile" not in result.info
        assert _max_difference(result, whole) <= 1


def test_a_kept_profile_survives_the_bands(samples) -> None:
    profile = samples.grey_profile()
    picture = _noise((900, 700)).convert("L")
    data = samples.encode(picture, "PNG", icc_profile=profile)
    result = render(data, ResizeSpec.parse("800x0-fit-0-noupscale-icc.png"))
    with Image.open(io.BytesIO(result.data)) as image:
        assert image.mode == "L" and image.info.get("icc_profile") == profile
