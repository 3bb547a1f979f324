"""The exceptions shiftmedia raises.

Every error the library raises on purpose derives from :class:`ShiftMediaError`,
so an application can catch one class. Each subclass names one kind of failure,
and the service maps each to one HTTP status (see ``shiftmedia.flask``). Messages
never contain secrets.
"""

from __future__ import annotations


class ShiftMediaError(Exception):
    """Base class of every error raised by shiftmedia."""


class ConfigError(ShiftMediaError):
    """The configuration is missing a value or holds an invalid one."""


class InvalidSpec(ShiftMediaError):
    """Resize parameters or a derivative file name that the grammar rejects."""


class InvalidKey(InvalidSpec):
    """A storage key or id that is malformed or would leave the storage root."""


class BadSignature(ShiftMediaError):
    """A resize name whose signature is missing, tampered or from a retired key."""


class PrivateOriginal(BadSignature):
    """An original asked for without a valid, unexpired access token: originals are not public."""


class NotAPreset(BadSignature):
    """A signed resize that is none of the presets, where only presets are served (``SHIFTMEDIA_ONLY_PRESETS``)."""


class NotFound(ShiftMediaError):
    """No original or object exists under the given id or key."""


class InvalidImage(ShiftMediaError):
    """The bytes are not an image Pillow can decode: unknown, corrupt or truncated."""


class UnsupportedImage(InvalidImage):
    """An image in a format or mode the engine does not handle."""


class LimitExceeded(ShiftMediaError):
    """An input or output over a configured limit (bytes, pixels, side, frames)."""


class StorageError(ShiftMediaError):
    """The storage backend failed: unreachable, timing out, denied or misconfigured."""


class StorageUnavailable(StorageError):
    """The storage backend cannot be reached now; retrying later may succeed."""


class AccessDenied(StorageError):
    """The storage backend refused the operation with the configured credentials."""


class ObjectChanged(StorageError):
    """A stored object was replaced while it was being read: reading on would mix two versions."""


class Overloaded(ShiftMediaError):
    """Too many resizes are running; this one waited past its time budget."""


class ConfigWarning(UserWarning):
    """A setting that is ignored: an unknown name, most often a typo of a known one."""
