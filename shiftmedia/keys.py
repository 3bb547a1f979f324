"""Signed resize keys: a resize of an id spelt, signed and checked as ``<id folder>/<signed name>``.

Every derivative key the library hands out or accepts goes through
:class:`ResizeKeys`: the spec from a size and options or from a preset, the
rules a spec must pass to be signed or served (the presets where only they
are served, the output side limit), and the signature check of a key or URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from .errors import InvalidSpec, LimitExceeded
from .ids import check_id, find_key, id_folder, split_key
from .presets import Presets
from .signing import ResizeSigner
from .spec import ResizeSpec, looks_like_derivative, parse_signed_name

Size = str | int | tuple[int, int]


class ResizeKeys:
    """Spells, signs and verifies derivative keys with ``signer``, under ``presets`` and ``max_output_side``."""

    def __init__(self, signer: ResizeSigner, presets: Presets, max_output_side: int) -> None:
        self.signer = signer
        self.presets = presets
        self.max_output_side = max_output_side

    def spec(self, size: Size | None, preset: str | None, options: Mapping[str, Any]) -> ResizeSpec:
        """The resize of ``size`` with ``options`` (see :meth:`ResizeSpec.create`), or of ``preset`` alone."""
        if preset is not None and size is None and not options:
            return self.presets.spec(preset)
        if preset is not None or size is None:
            raise InvalidSpec("give a size (with options) or a preset (alone)")
        return ResizeSpec.create(size, **options)

    def key(self, media_id: str, spec: ResizeSpec) -> str:
        """The signed key of ``spec`` applied to ``media_id``, if ``spec`` may be served."""
        self.check(spec)
        signature = self.signer.sign(check_id(media_id), spec)
        return f"{id_folder(media_id)}/{spec.signed_name(signature)}"

    def verify(self, key_or_url: str) -> tuple[str, str, ResizeSpec]:
        """``(key, id, spec)`` of a derivative key or URL whose signature is valid.

        :class:`InvalidKey`/:class:`InvalidSpec` for a malformed one,
        :class:`BadSignature` for a forged one or one of a retired key.
        """
        key = find_key(unquote(urlsplit(key_or_url).path) if "://" in key_or_url else key_or_url)
        media_id, name = split_key(key)
        if not looks_like_derivative(name):
            raise InvalidSpec("not a derivative name")
        spec, signature = parse_signed_name(name)
        self.signer.verify(media_id, spec, signature)
        return key, media_id, spec

    def check(self, spec: ResizeSpec) -> None:
        """Raise unless ``spec`` may be signed and served: a preset where only they are, within the side limit."""
        self.presets.check(spec)
        side = max(spec.width, spec.height)
        if side > self.max_output_side:
            raise LimitExceeded(f"a side of {side} px is over the limit of {self.max_output_side}")
