"""Signed resize keys: a resize of an original spelt, signed and checked as ``<folder>/<signed name>``.

An original is named by a reference: an id (its folder is the id's,
``3f2b8c1e/9a4d/…``), or a source key, an existing object addressed by its
own key (its derivatives' folder is the key itself: ``photos/cat.jpg/…``).
Every derivative key the library hands out or accepts goes through
:class:`ResizeKeys`: the spec from a size and options or from a preset, the
rules a spec must pass to be signed or served (the presets where only they
are served, the output side limit), and the signature check of a key or URL.
The signature covers the reference, a source key under its own domain
(``key:``), so no signature of an id stands for a source or the other way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from .errors import InvalidKey, InvalidSpec, LimitExceeded
from .ids import NOT_AN_ID, check_source_key, find_key, id_folder, is_id, split_key
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
        #: URL paths under which a key follows (the service's, the store's): where a source key starts.
        self.url_paths: tuple[str, ...] = ()
        #: Whether source keys are taken (the storage can read sources); else only ids are.
        self.sources = True

    def spec(self, size: Size | None, preset: str | None, options: Mapping[str, Any]) -> ResizeSpec:
        """The resize of ``size`` with ``options`` (see :meth:`ResizeSpec.create`), or of ``preset`` alone."""
        if preset is not None and size is None and not options:
            return self.presets.spec(preset)
        if preset is not None or size is None:
            raise InvalidSpec("give a size (with options) or a preset (alone)")
        return ResizeSpec.create(size, **options)

    def presets_of(self, names: Iterable[str]) -> list[ResizeSpec]:
        """The resizes of the presets ``names`` (each once), checked as :meth:`check` does."""
        specs = [self.presets.spec(name) for name in dict.fromkeys(names)]
        for spec in specs:
            self.check(spec)
        return specs

    def key(self, reference: str, spec: ResizeSpec) -> str:
        """The signed key of ``spec`` applied to the original ``reference`` (an id or a source key)."""
        self.check(spec)
        signature = self.signer.sign(self._signed(reference), spec)
        return f"{folder_of(reference)}/{spec.signed_name(signature)}"

    def verify(self, key_or_url: str) -> tuple[str, str, ResizeSpec]:
        """``(key, reference, spec)`` of a derivative key or URL whose signature is valid.

        :class:`InvalidKey`/:class:`InvalidSpec` for a malformed one,
        :class:`BadSignature` for a forged one or one of a retired key.
        """
        key = self.key_of(key_or_url)
        reference, name = split_reference(key)
        if not looks_like_derivative(name):
            raise InvalidSpec("not a derivative name")
        spec, signature = parse_signed_name(name)
        self.signer.verify(self._signed(reference), spec, signature)
        return key, reference, spec

    def key_of(self, key_or_url: str) -> str:
        """The key a URL or URL path names (after one of :attr:`url_paths`, or an id's key at its end); a key as it is."""
        if "://" not in key_or_url and not key_or_url.startswith("/"):
            return key_or_url
        path = urlsplit(key_or_url).path
        for base in self.url_paths:
            if path.startswith(base) and len(path) > len(base):
                return unquote(path[len(base) :])
        return find_key(unquote(path))

    def _signed(self, reference: str) -> str:
        """What the signature covers for ``reference``: an id as it is, a source key in its own domain."""
        if is_id(reference):
            return reference
        if not self.sources:
            raise InvalidKey(NOT_AN_ID)
        return f"key:{check_source_key(reference)}"

    def check(self, spec: ResizeSpec) -> None:
        """Raise unless ``spec`` may be signed and served: a preset where only they are, within the side limit."""
        self.presets.check(spec)
        side = max(spec.width, spec.height)
        if side > self.max_output_side:
            raise LimitExceeded(f"a side of {side} px is over the limit of {self.max_output_side}")


def folder_of(reference: str) -> str:
    """The folder of an original's derivatives: an id's folder, or the source key itself."""
    return id_folder(reference) if is_id(reference) else check_source_key(reference)


def split_reference(key: str) -> tuple[str, str]:
    """``(reference, file name)`` of a key: ``<id folder>/<name>`` gives the id, ``<source key>/<name>`` the key."""
    try:
        return split_key(key)
    except InvalidKey:
        if not isinstance(key, str) or "/" not in key:
            raise
    folder, name = key.rsplit("/", 1)
    return check_source_key(folder), name
