"""The JSON API for non-Python clients: upload, delete, sign URLs.

Every call needs ``Authorization: Bearer <token>`` with a token from
``SHIFTMEDIA_API_TOKENS`` (comma-separated, so a token can be rotated); with
no token configured the API answers 404, as if absent. Inputs are validated
and every error is a JSON object with a status that says what went wrong.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from flask import Blueprint, Response, jsonify, request

from shiftmedia.errors import InvalidImage, InvalidSpec, ShiftMediaError
from shiftmedia.flask import error_response, get_storage
from shiftmedia.storage import Storage

#: The sample URLs an upload answers with: name → (size, options).
SAMPLES: dict[str, tuple[str, dict[str, Any]]] = {
    "thumbnail": ("200x200", {"mode": "fill", "format": "webp"}),
    "medium": ("800x0", {"format": "webp"}),
    "large": ("1600x0", {"format": "jpg"}),
}
MAX_URLS_PER_CALL = 500
_SPEC_OPTIONS = frozenset({"mode", "quality", "format", "upscale", "gravity", "background", "rect", "keep_icc", "time"})


#: The largest JSON body the signing call reads, and the deepest nesting it parses.
MAX_JSON_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 16


def authorized(tokens: tuple[str, ...], given: str | None = None) -> bool:
    """True when the request's bearer token (or ``given``) is one of ``tokens``, compared in constant time."""
    if given is None:
        header = request.headers.get("Authorization", "")
        given = header[len("Bearer ") :].strip() if header.startswith("Bearer ") else ""
    return bool(given) and any(hmac.compare_digest(given.encode(), token.encode()) for token in tokens)


def json_body() -> Any:
    """The request's JSON, read only when it is small and shallow: :class:`ApiError` 400/413 otherwise.

    Python's parser recurses once per level, so a body of ``[[[[…`` deep
    enough raises RecursionError; the depth is counted on the raw text first.
    """
    if request.content_length is None or request.content_length > MAX_JSON_BYTES:
        raise ApiError(413, f"send at most {MAX_JSON_BYTES} bytes of JSON, with a Content-Length")
    raw = request.get_data(cache=False)
    if len(raw) > MAX_JSON_BYTES:
        raise ApiError(413, f"send at most {MAX_JSON_BYTES} bytes of JSON")
    if _depth(raw) > MAX_JSON_DEPTH:
        raise ApiError(400, f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise ApiError(400, 'send JSON {"urls": [...]}: the body is not valid JSON') from None


def _depth(raw: bytes) -> int:
    """The deepest nesting of arrays and objects in ``raw``, strings skipped."""
    deepest = depth = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


class ApiError(Exception):
    """An input error of the API itself, with its status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def api_blueprint(tokens: tuple[str, ...]) -> Blueprint:
    """The API, answering only requests that carry one of ``tokens`` (none: the API is absent)."""
    api = Blueprint("shiftmedia_api", __name__, url_prefix="/api/v1")

    @api.before_request
    def _authenticate() -> Response | None:
        if not tokens:
            return error_response(None, status=404, message="the API is not enabled", json=True)
        if not authorized(tokens):
            return error_response(None, status=401, message="a valid bearer token is required", json=True)
        return None

    api.register_error_handler(ShiftMediaError, lambda error: error_response(error, json=True))
    api.register_error_handler(
        ApiError, lambda error: error_response(None, status=error.status, message=str(error), json=True)
    )
    api.register_error_handler(
        413, lambda _error: error_response(None, status=413, message="the upload is too large", json=True)
    )
    api.add_url_rule("/media", "upload", upload, methods=["POST"])
    api.add_url_rule("/media/<media_id>", "delete", delete, methods=["DELETE"])
    api.add_url_rule("/urls", "sign", sign, methods=["POST"])
    return api


def upload() -> tuple[Response, int]:
    """Store a multipart ``file`` (and make the ``presets`` it names, comma-separated or repeated).

    Answers its id, original URL and the presets' URLs (else sample resizes).
    """
    file = request.files.get("file")
    if file is None or not file.filename:
        raise InvalidImage("send the image as multipart form field 'file'")
    storage = get_storage()
    presets = [name.strip() for field in request.form.getlist("presets") for name in field.split(",") if name.strip()]
    media_id = storage.put(file.stream, filename=file.filename, presets=presets)
    if storage.presets:
        urls = {name: storage.resize_url(media_id, preset=name) for name, _spec in storage.presets}
    else:
        urls = {name: storage.resize_url(media_id, size, **options) for name, (size, options) in SAMPLES.items()}
    return jsonify({"id": media_id, "url": storage.original_url(media_id), "urls": urls}), 201


def delete(media_id: str) -> Response:
    """Delete an original and every resize of it."""
    return jsonify({"id": media_id, "deleted": get_storage().delete(media_id)})


def sign() -> Response:
    """Sign a batch: ``{"urls": [{"id", "size", "mode"?, "format"?, ...} or {"id", "preset"}, ...]}`` → URLs in order."""
    body = json_body()
    items = body.get("urls") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise ApiError(400, 'send JSON {"urls": [{"id": ..., "size": "400x300", ...}]}')
    if len(items) > MAX_URLS_PER_CALL:
        raise ApiError(400, f"at most {MAX_URLS_PER_CALL} URLs per call")
    storage = get_storage()
    return jsonify({"urls": [_sign_one(storage, index, item) for index, item in enumerate(items)]})


def _sign_one(storage: Storage, index: int, item: Any) -> str:
    if not isinstance(item, dict) or not isinstance(item.get("id"), str) or ("size" in item) == ("preset" in item):
        raise ApiError(400, f"urls[{index}] needs an id, and a size or a preset")
    unknown = set(item) - _SPEC_OPTIONS - {"id", "size", "preset"}
    if unknown:
        raise ApiError(400, f"urls[{index}] has unknown fields: {', '.join(sorted(unknown))}")
    options: dict[str, Any] = {
        k: (tuple(v) if k == "rect" and isinstance(v, list) else v) for k, v in item.items() if k in _SPEC_OPTIONS
    }
    if isinstance(options.get("gravity"), list):
        options["gravity"] = tuple(options["gravity"])
    size = tuple(item["size"]) if isinstance(item.get("size"), list) else item.get("size")
    preset = item.get("preset")
    if preset is not None and not isinstance(preset, str):
        raise ApiError(400, f"urls[{index}]: a preset is a name")
    try:
        return str(storage.resize_url(item["id"], size, preset=preset, **options))
    except InvalidSpec as error:
        raise ApiError(400, f"urls[{index}]: {error}") from None
