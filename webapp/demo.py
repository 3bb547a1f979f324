"""The demo page: the gallery, one original in every mode, upload (dropped or chosen) and delete.

Who may do what follows the service's rules. Uploading and deleting exist only
with ``SHIFTMEDIA_DEMO_UPLOAD``, and with API tokens configured each form
carries one. The gallery lists every stored id, and the page links an id's
original, only where anyone may see them anyway: on an open demo (``make
run``), or for the original, where originals are public. A form that writes
must come from the page itself: a browser names the page it posts from
(``Origin``, else ``Referer``), and a write that names another host is refused.

Errors are pages with the status and a way back for a browser, and the
service's one plain-text form for every other client.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from shiftmedia.errors import InvalidImage, ShiftMediaError
from shiftmedia.flask import error_response, get_settings, get_storage, public_message, status_for
from shiftmedia.flask.errors import request_id
from shiftmedia.settings import Settings

from . import showcase
from .api import authorized

log = logging.getLogger("shiftmedia.service")

#: How many originals the gallery shows, newest first.
GALLERY_SIZE = 48
#: The endpoints whose errors a browser gets as a page.
PAGES = frozenset({"index", "upload", "delete"})
#: Facts of the originals shown, read once per process.
KNOWN = showcase.Originals()


def register(app: Flask, settings: Settings) -> None:
    """Add the page, and its upload and delete forms when the demo upload is on."""
    app.add_url_rule("/", "index", index, methods=["GET"])
    if settings.demo_upload:
        app.add_url_rule("/upload", "upload", upload, methods=["POST"])
        app.add_url_rule("/delete", "delete", delete, methods=["POST"])
        if not settings.api_tokens:
            log.warning(
                "the demo upload (POST /upload) is ON and OPEN: anyone who can reach this service can store "
                "and delete files. Set SHIFTMEDIA_API_TOKENS to require a token, or SHIFTMEDIA_DEMO_UPLOAD=false."
            )


def index() -> Response:
    """The gallery and the upload form; with ``?id=``, that original in every mode."""
    settings, storage = get_settings(), get_storage()
    reference = request.args.get("id")
    shown = original = None
    if reference:
        try:
            shown = showcase.original(storage, reference, KNOWN)
            original = storage.original_url(reference) if _originals_public(settings) else None
        except ShiftMediaError as error:
            return failure(error)
    try:
        gallery = showcase.gallery(storage, GALLERY_SIZE) if _open(settings) else None
    except ShiftMediaError as error:
        return failure(error)
    return page(
        "index.html",
        shown=shown,
        original=original,
        gallery=gallery,
        gallery_size=GALLERY_SIZE,
        deleted=request.args.get("deleted"),
        cleared=bool(shown and request.args.get("cleared")),
        boxes=showcase.boxes(shown.groups) if shown else [],
    )


def upload() -> Response:
    """Store the uploaded file and show it (only with ``SHIFTMEDIA_DEMO_UPLOAD``).

    With API tokens configured, the form must carry one (field ``token``, or a
    bearer header): the demo never becomes a way around the API's tokens.
    """
    if not _same_origin(required=False):
        return failure(None, 403, "this form only posts from its own page")
    if not _token_given():
        return failure(None, 401, "a valid token is required to upload")
    file = request.files.get("image")
    if file is None or not file.filename:
        return failure(InvalidImage("no file was uploaded"))
    try:
        media_id = get_storage().put(file.stream, filename=file.filename)
    except ShiftMediaError as error:
        return failure(error)
    return redirect(url_for("index", id=media_id), code=303)


def delete() -> Response:
    """Delete an original and every resize of it: a form of its page, confirmed, with a token if tokens are set.

    A source is never deleted, only its resizes: its page then says so.
    """
    reference = request.form.get("id", "")
    back = url_for("index", id=reference) if reference else url_for("index")
    if not _same_origin(required=True):
        return failure(None, 403, "deleting needs the form of this page (its Origin or Referer)", back)
    if not _token_given():
        return failure(None, 401, "a valid token is required to delete", back)
    if not reference or request.form.get("confirm") != "yes":
        return failure(None, 400, "tick the box to confirm the deletion", back)
    storage = get_storage()
    try:
        key = storage.original_key(reference)
        storage.delete(reference)
    except ShiftMediaError as error:
        return failure(error, back="" if status_for(error) == 404 else back)
    KNOWN.forget(key)
    if key == reference:
        return redirect(url_for("index", id=reference, cleared="resizes"), code=303)
    return redirect(url_for("index", deleted=key.rsplit("/", 1)[-1]), code=303)


def failure(error: ShiftMediaError | None, status: int = 0, message: str = "", back: str = "") -> Response:
    """The service's error answer; a page saying what went wrong, with a way back, for a browser on the demo.

    The status, headers and log line are :func:`error_response`'s; the page
    shows only what the client may read (:func:`public_message`).
    """
    response = error_response(error, status=status, message=message)
    if request.endpoint in PAGES and _wants_html():
        if error is not None:
            status, message = status_for(error), public_message(error)
        nonce = secrets.token_urlsafe(16)
        body = render_template(
            "error.html",
            status=status,
            message=message,
            back=back or url_for("index"),
            request_id=request_id(),
            nonce=nonce,
        )
        response.set_data(body)
        response.mimetype = "text/html"
        _secure(response, nonce)
    if request.endpoint in PAGES:
        response.vary.add("Accept")
    return response


def page(template: str, **context: Any) -> Response:
    """A page of the demo, with its script and style allowed by a nonce and nothing else."""
    settings = get_settings()
    nonce = secrets.token_urlsafe(16)
    body = render_template(
        template,
        nonce=nonce,
        forms={"on": settings.demo_upload, "token": bool(settings.api_tokens)},
        max_bytes=settings.limits.max_input_bytes,
        max_video_bytes=settings.limits.max_video_bytes,
        human_bytes=showcase.human_bytes,
        **context,
    )
    response = Response(body, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    _secure(response, nonce)
    return response


def _secure(response: Response, nonce: str) -> None:
    """Only the page's own script and style run; images from anywhere (the media may be on a CDN)."""
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; img-src * data: blob:; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"


def _open(settings: Settings) -> bool:
    """The demo upload is on and needs no token: anyone who reaches the page may store and see anything."""
    return settings.demo_upload and not settings.api_tokens


def _originals_public(settings: Settings) -> bool:
    """Anyone may read any original here anyway: public originals, or an open demo."""
    return settings.public_originals or _open(settings)


def _token_given() -> bool:
    """No token is needed, or the request carries one of the API tokens (form field or bearer header)."""
    tokens = get_settings().api_tokens
    return not tokens or authorized(tokens) or authorized(tokens, request.form.get("token", ""))


def _same_origin(*, required: bool) -> bool:
    """The request names this host as the page it comes from (``Origin``, else ``Referer``).

    A browser always sends ``Origin`` with a form it posts; a client that
    names no page is not a browser forging a form, and may write unless
    ``required``. The host is compared, not the scheme: behind a TLS front
    the service sees ``http``.
    """
    named = request.headers.get("Origin") or request.headers.get("Referer")
    if not named:
        return not required
    return urlsplit(named).netloc == request.host


def _wants_html() -> bool:
    """The client prefers HTML to plain text: a browser, not curl (``*/*``) or a script."""
    return request.accept_mimetypes.best_match(("text/plain", "text/html")) == "text/html"
