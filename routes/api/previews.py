"""A still of how a Q&A's clips will look, before cutting: the page fetches it whenever an option changes."""

from __future__ import annotations

import io
from typing import Any

from flask import request, send_file

from operations import previews
from routes import settings, unit_of_work
from routes.api import BadRequest, Conflict, api, exchange_or_404, video_or_404
from routes.api.exchanges import LOOK_FIELDS, look_changes

FLAGS = {"true": True, "1": True, "false": False, "0": False, "": None}


@api.get("/exchanges/<int:exchange_id>/preview.jpg")
def exchange_preview(exchange_id: int):
    """The Q&A's opening frame as a clip would show it: the stored look, changed by any of the PATCH look
    fields given as query arguments (`?shape=vertical&framing=fixed&crop_x=0.3&captions=pop&caption_position=top`).
    With framing follow or split the still shows the middle of the picture: the cut finds the speakers."""
    exchange = exchange_or_404(exchange_id)
    video = video_or_404(exchange.video_id)
    stored = previews.stored_look(exchange, settings().clip_burn_subtitles)
    asked = _query_look()
    changes = look_changes(asked)  # checked as a PATCH would be
    look = previews.Look(
        shape=changes.get("shape", stored.shape),
        crop_x=changes.get("crop_x", stored.crop_x),
        captions=changes.get("captions", stored.captions),
        position=changes.get("caption_position", stored.position),
        names=asked.get("caption_names", stored.names),
        framing=changes.get("framing", stored.framing),
    )
    try:
        jpeg = previews.clip_preview(unit_of_work(), settings(), video, exchange, look)
    except previews.PreviewUnavailable as error:
        raise Conflict(str(error)) from None
    response = send_file(io.BytesIO(jpeg), mimetype="image/jpeg", max_age=0)
    response.headers["Cache-Control"] = "no-store"
    return response


def _query_look() -> dict[str, Any]:
    """The query's look fields as the JSON body of a PATCH would carry them."""
    args = request.args
    body: dict[str, Any] = {}
    for key in ("shape", "framing", "captions", "caption_position"):
        if key in args:
            body[key] = args[key]
    if "crop_x" in args:
        try:
            body["crop_x"] = float(args["crop_x"])
        except ValueError:
            raise BadRequest("crop_x must be a number from 0 (left edge) to 1 (right edge)") from None
    if "caption_names" in args:
        if args["caption_names"] not in FLAGS:
            raise BadRequest("caption_names must be true, false, or empty (the shape's default)")
        body["caption_names"] = FLAGS[args["caption_names"]]
    unknown = set(args) - set(LOOK_FIELDS)
    if unknown:
        raise BadRequest(f"unknown arguments {sorted(unknown)}: a preview takes the look fields of a Q&A")
    return body
