"""Storage backends: one interface, a local-disk and an S3 implementation."""

from .base import Backend, ObjectInfo
from .local import LocalBackend

__all__ = ["Backend", "LocalBackend", "ObjectInfo"]
