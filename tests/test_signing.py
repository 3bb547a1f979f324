"""Signatures: every parameter covered, key rotation, retirement."""

from __future__ import annotations

import pytest

from shiftmedia.errors import BadSignature, ConfigError
from shiftmedia.signing import ResizeSigner
from shiftmedia.spec import ResizeSpec

NEW = "new-secret-0123456789abcdef"
OLD = "old-secret-0123456789abcdef"
ID = "3f2b8c1e-9a4d-4c6b-8e2f-1a2b3c4d5e6f"
SPEC = ResizeSpec.create("400x300", mode="fill", format="jpg")


def test_sign_and_verify() -> None:
    signer = ResizeSigner([NEW])
    signature = signer.sign(ID, SPEC)
    assert len(signature) == 43
    signer.verify(ID, SPEC, signature)


@pytest.mark.parametrize(
    "other",
    [
        ResizeSpec.create("400x301", mode="fill", format="jpg"),
        ResizeSpec.create("400x300", mode="pad", format="jpg"),
        ResizeSpec.create("400x300", mode="fill", format="jpg", quality=84),
        ResizeSpec.create("400x300", mode="fill", format="jpg", upscale=True),
        ResizeSpec.create("400x300", mode="fill", format="webp", quality=85),
        ResizeSpec.create("400x300", mode="fill", format="jpg", gravity="n"),
        ResizeSpec.create("400x300", mode="fill", format="jpg", background="000000"),
    ],
)
def test_every_parameter_is_signed(other: ResizeSpec) -> None:
    signer = ResizeSigner([NEW])
    with pytest.raises(BadSignature):
        signer.verify(ID, other, signer.sign(ID, SPEC))


def test_id_is_signed() -> None:
    signer = ResizeSigner([NEW])
    with pytest.raises(BadSignature):
        signer.verify(ID.replace("3", "4", 1), SPEC, signer.sign(ID, SPEC))


def test_rotation_keeps_old_urls_until_the_key_is_removed() -> None:
    old_signature = ResizeSigner([OLD]).sign(ID, SPEC)
    rotated = ResizeSigner([NEW, OLD])
    rotated.verify(ID, SPEC, old_signature)
    assert rotated.sign(ID, SPEC) == ResizeSigner([NEW]).sign(ID, SPEC)
    with pytest.raises(BadSignature):
        ResizeSigner([NEW]).verify(ID, SPEC, old_signature)


def test_tampered_signature() -> None:
    signer = ResizeSigner([NEW])
    signature = signer.sign(ID, SPEC)
    tampered = ("B" if signature[0] != "B" else "C") + signature[1:]
    with pytest.raises(BadSignature):
        signer.verify(ID, SPEC, tampered)


@pytest.mark.parametrize("keys", [[], [""], ["short"]])
def test_rejects_missing_or_weak_keys(keys: list[str]) -> None:
    with pytest.raises(ConfigError):
        ResizeSigner(keys)


def test_repr_hides_keys() -> None:
    assert NEW not in repr(ResizeSigner([NEW]))
