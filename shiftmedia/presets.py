"""Presets: named resizes from the settings, and the rule that only they are served.

``SHIFTMEDIA_PRESETS="thumb=200x200-fill-80-noupscale.webp, hero=1600x0-fit-85-noupscale.jpg"``
names each resize by its canonical unsigned file name (the URL grammar of
:mod:`shiftmedia.spec`), so a preset is exactly one derivative per original
and signs like any other resize. ``SHIFTMEDIA_ONLY_PRESETS`` makes every other
signed resize refused (:class:`NotAPreset`), at signing and at serving: a site
that needs a few sizes offers nobody, not even an API token holder, any other.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from .errors import ConfigError, InvalidSpec, NotAPreset
from .spec import ResizeSpec

NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


def parse_presets(setting: str, text: str) -> tuple[tuple[str, ResizeSpec], ...]:
    """``name=<resize name>`` pairs separated by commas; :class:`ConfigError` naming the bad one."""
    found: dict[str, ResizeSpec] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, sep, spelt = (part.strip() for part in item.partition("="))
        if not sep or not NAME_RE.fullmatch(name):
            raise ConfigError(f"{setting}: write name=resize pairs (names of a-z, 0-9, _ and -), not {item!r}")
        if name in found:
            raise ConfigError(f"{setting}: preset {name!r} is named twice")
        try:
            found[name] = ResizeSpec.parse(spelt)
        except InvalidSpec as error:
            raise ConfigError(
                f"{setting}: preset {name!r} is not a canonical resize name such as "
                f"200x200-fill-80-noupscale.webp ({error})"
            ) from None
    return tuple(found.items())


@dataclass(frozen=True)
class Presets:
    """The named resizes, whether they are the only ones served (``only``), those made at upload (``eager``)."""

    named: tuple[tuple[str, ResizeSpec], ...] = ()
    only: bool = False
    eager: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.only and not self.named:
            raise ConfigError("SHIFTMEDIA_ONLY_PRESETS needs SHIFTMEDIA_PRESETS: no resize could be served")
        unknown = [name for name in self.eager if all(name != known for known, _spec in self.named)]
        if unknown:
            raise ConfigError(f"SHIFTMEDIA_EAGER_PRESETS names no preset {', '.join(unknown)} of SHIFTMEDIA_PRESETS")

    def __iter__(self) -> Iterator[tuple[str, ResizeSpec]]:
        return iter(self.named)

    def __bool__(self) -> bool:
        return bool(self.named)

    def spec(self, name: str) -> ResizeSpec:
        """The resize named ``name``; :class:`InvalidSpec` naming the known ones otherwise."""
        for known, spec in self.named:
            if known == name:
                return spec
        names = ", ".join(known for known, _spec in self.named) or "none are configured"
        raise InvalidSpec(f"unknown preset (known: {names})")

    def check(self, spec: ResizeSpec) -> None:
        """Raise :class:`NotAPreset` when only presets are served and ``spec`` is none of them."""
        if self.only and all(spec != known for _name, known in self.named):
            raise NotAPreset("only the preset sizes are served here")
