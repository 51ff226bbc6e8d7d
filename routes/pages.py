"""HTML pages: the dashboard, a video's details, the error log, and the fragments pages refresh live.

Pages render the database's truth; the browser then follows `/events` and patches states in place,
fetching a fragment (rendered by the same templates) when rows come or go.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template, request, send_from_directory
from markupsafe import Markup, escape
from werkzeug.utils import secure_filename

from operations import clips, exchanges, lookup, presenters, speakers, steps, transcripts
from operations import pages as read
from operations.answers import describe_answers
from operations.clips import ClipInLibrary
from operations.search import search, term_pattern
from pipeline import subtitles
from pipeline.alignment import word_gaps
from pipeline.download import RESOLUTIONS
from pipeline.redact import redact_url
from pipeline.timecode import format_clock, format_timecode
from routes import settings, unit_of_work
from routes.api import BadRequest
from routes.api.search import query_id, search_filters

pages = Blueprint("pages", __name__)

PER_PAGE = 50
ERRORS_SHOWN = 500


@pages.app_template_filter("duration")
def format_duration(seconds: float | None) -> str:
    """1:02:03 or 2:03; empty when unknown."""
    return "" if seconds is None else format_timecode(round(float(seconds)))


@pages.app_template_filter("clock")
def clock(seconds: float | None, decimals: int = 0) -> str:
    return format_clock(seconds, decimals)


@pages.app_template_global("clip_file_name")
def clip_file_name(*args) -> str:
    return presenters.clip_file_name(*args)


@pages.app_template_global("captions_shown")
def captions_shown(captions: str | None) -> str:
    """What a Q&A's captions menu shows: the style its clips burn in, or none."""
    return subtitles.burned_caption_style(captions, settings().clip_burn_subtitles) or "none"


@pages.app_template_global("captions_again")
def captions_again(captions: str | None) -> str:
    """The captions a clip's "Cut again" asks for: burned in as before."""
    return subtitles.style_when_burned(captions)


@pages.app_template_global("clip_title")
def clip_title(*args) -> str:
    return presenters.clip_title(*args)


@pages.app_template_filter("spaced")
def spaced(words, language: str | None = None) -> list[tuple[str, Any]]:
    """Each word with what goes before it on the page (a space, or nothing before punctuation and in
    languages written without spaces): Whisper's words come without their spaces."""
    return list(zip(word_gaps(words, language), words, strict=True))


@pages.app_template_filter("redacted")
def redacted(url: str) -> str:
    """A link as it may be shown: without the credentials or tokens it may carry for the download."""
    return redact_url(url)


@pages.app_template_filter("speaker_placeholder")
def speaker_placeholder(label: str) -> str:
    return presenters.speaker_placeholder(label)


@pages.app_template_filter("exchange_title")
def exchange_title(label: str) -> str:
    return presenters.exchange_title(label)


@pages.app_template_filter("file_version")
def file_version(path: str | None) -> str:
    """The file's modification time: part of a clip's URLs, so a clip cut again is fetched again."""
    try:
        return str(Path(path).stat().st_mtime_ns) if path else "0"
    except OSError:
        return "0"


@pages.app_template_filter("step_title")
def step_title(name: str) -> str:
    definition = steps.STEP.get(name)
    return definition.title if definition else name


@pages.app_template_filter("when")
def format_when(iso: str | None) -> str:
    """ISO UTC text as `YYYY-MM-DD HH:MM:SS`; pages turn it into local time."""
    return iso[:19].replace("T", " ") if iso else ""


@pages.get("/favicon.ico")
def favicon():
    """For the clients that ask for /favicon.ico whatever the page says (pages link the SVG)."""
    static = current_app.static_folder
    assert static is not None  # create_app keeps Flask's default static folder
    return send_from_directory(static, "favicon.svg", mimetype="image/svg+xml")


@pages.app_context_processor
def error_count() -> dict[str, Any]:
    """Steps in error, for the badge on the navbar's "Error log" (pages of a logged-in person only)."""
    if request.endpoint in (None, "static", "auth.login") or request.path.startswith(("/partials/", "/api/")):
        return {}
    return {"error_count": read.error_count(unit_of_work())}


def _page_number(total: int) -> tuple[int, int]:
    pages_count = max((total + PER_PAGE - 1) // PER_PAGE, 1)
    return min(max(request.args.get("page", 1, type=int), 1), pages_count), pages_count


def _jobs_context() -> dict[str, Any]:
    uow = unit_of_work()
    total = read.video_count(uow)
    page, pages_count = _page_number(total)
    videos = read.videos_page(uow, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    return {"videos": videos, "total": total, "page": page, "pages": pages_count}


@pages.get("/")
def dashboard():
    return render_template(
        "dashboard.html",
        resolutions=RESOLUTIONS,
        max_upload_mb=settings().max_upload_mb,
        **_jobs_context(),
    )


@pages.get("/partials/videos")
def videos_fragment():
    """The jobs table of one page, for the dashboard to swap in when videos come or go."""
    return render_template("_jobs.html", **_jobs_context())


@pages.get("/videos/<int:video_id>")
def video_details(video_id: int):
    context = _video_context(video_id, SECTIONS)
    page_data = {"video": {"id": video_id, "steps": context["video"]["steps"], "status": context["video"]["status"]}}
    return render_template("video.html", page_data=page_data, **context)


# The details page is made of sections, each one template under templates/video/; the page renders all
# of them, and the browser fetches one again when an event says it changed (the same HTML either way).
SECTIONS = ("panel", "speakers", "transcript", "exchanges", "clips")


@pages.get("/partials/videos/<int:video_id>/<section>")
def video_section(video_id: int, section: str):
    if section not in SECTIONS:
        abort(404, f"no section {section!r}; sections are {', '.join(SECTIONS)}")
    return render_template(f"video/_{section}.html", **_video_context(video_id, (section,)))


def _video_context(video_id: int, sections: tuple[str, ...]) -> dict[str, Any]:
    """What the given sections of a video's page show; every section needs the video and its speakers."""
    uow = unit_of_work()
    video = lookup.video(uow, video_id)
    if video is None:
        abort(404, f"There is no video {video_id}. It may have been deleted.")
    video_steps = read.video_steps(uow, video_id)
    video_speakers = speakers.list_speakers(uow, video_id)
    context: dict[str, Any] = {
        "video": read.describe_video(uow, video, video_steps),
        "speakers": video_speakers,
        "speakers_by_label": {speaker["label"]: speaker for speaker in video_speakers},
        "phase2_steps": [definition for definition in steps.REGISTRY if definition.phase == 2],
    }
    if "transcript" in sections:
        lines = transcripts.transcript(uow, video_id)
        context["segments"] = lines.segments
        context["segment_ids"] = lines.ids  # a corrected line is sent back by its id
    if "exchanges" in sections or "clips" in sections:
        described = exchanges.describe_all(uow, video_id)
        context["exchanges"] = [exchange for exchange in described if not exchange["from_search"]]  # the Q&As
    if "clips" in sections:
        context["clip_groups"] = read.clip_groups(uow, described)
    return context


CLIPS_SHOWN = 500


def _clips_filter() -> tuple[int | None, int | None, str]:
    """`?video=<id>`, `?person=<id>` (someone in the speaker library) and `?speaker=<label>` (one of the
    chosen video's speakers, named or not: "Speaker 1" of one video is not "Speaker 1" of another)."""
    try:
        video_id, person_id = query_id("video"), query_id("person")
    except BadRequest as problem:
        abort(400, str(problem))
    return video_id, person_id, request.args.get("speaker", "").strip()[:80] if video_id else ""


def _chosen_clips(uow) -> dict[str, Any]:
    """The clips the filters choose, with what the filters offer: the videos with clips, and the people in
    them (every video) or the chosen video's speakers. A person chosen with a video is their speaker there."""
    video_id, person_id, label = _clips_filter()
    everyone = clips.clips_in_library(uow, video_id, CLIPS_SHOWN)
    in_video = speakers.list_speakers(uow, video_id) if video_id else []
    if video_id and person_id is not None:
        theirs = [speaker["label"] for speaker in in_video if (speaker["person"] or {}).get("id") == person_id]
        label, person_id = label or next(iter(theirs), ""), None  # not in this video: the video's clips
    people = {
        speaker["person"]["id"]: speaker["person"]["name"]
        for item in everyone
        for speaker in item.speakers_by_label.values()
        if speaker["person"]
    }
    person_id = person_id if person_id in people else None
    return {
        "items": clips.spoken_by(uow, everyone, person_id, label),
        "videos": read.videos_with_clips(uow),
        "people": sorted(people.items(), key=lambda pair: pair[1].lower()),
        "speakers": in_video,
        "chosen_video": video_id,
        "chosen_person": person_id,
        "chosen_speaker": label,
    }


@pages.get("/clips")
def clips_page():
    """Every cut clip in the library, newest first, to watch and download; filters by video and by person
    (or, in one video, by its speaker)."""
    return render_template("clips.html", limit=CLIPS_SHOWN, **_chosen_clips(unit_of_work()))


@pages.get("/clips/download.zip")
def clips_zip():
    """The clips shown (with the same filters) in one zip: MP4 and SRT under their descriptive names; the
    zip is named after what it holds (`Ada_in_Board_meeting_clips.zip`)."""
    uow = unit_of_work()
    chosen = _chosen_clips(uow)
    if not chosen["items"]:
        abort(404, "No clips to download: cut some first, or change the filters.")
    video = lookup.video(uow, chosen["chosen_video"]) if chosen["chosen_video"] else None
    names = dict(chosen["people"]) | {speaker["label"]: speaker["name"] for speaker in chosen["speakers"]}
    who = names.get(chosen["chosen_person"]) or names.get(chosen["chosen_speaker"])
    return _zip_of(chosen["items"], presenters.clips_zip_name(video, who))


# ---- the speaker library -----------------------------------------------------------------------


@pages.get("/people")
def people_page():
    """Everyone in the speaker library, with their videos, talking time and answers."""
    return render_template("people.html", people=read.people(unit_of_work()))


@pages.get("/people/<int:person_id>")
def person_page(person_id: int):
    """One person: the videos they speak in and every answer they give, to cut and download together."""
    uow = unit_of_work()
    person = lookup.person(uow, person_id)
    if person is None:
        abort(404, f"There is no person {person_id} in the speaker library. They may have been removed.")
    videos = read.videos_of_person(uow, person_id)
    return render_template("person.html", person=person, videos=videos, answers=describe_answers(uow, person_id))


@pages.get("/people/<int:person_id>/answers.zip")
def answers_zip(person_id: int):
    """The person's answers already cut (all, or `?exchange=<id>` repeated), with their subtitles."""
    chosen = request.args.getlist("exchange", type=int) or None
    uow = unit_of_work()
    items = clips.answer_clips(uow, person_id, chosen)
    if not items:
        abort(404, "None of these answers is cut yet: select them and choose Cut first.")
    person = lookup.person(uow, person_id)
    if person is None:  # deleted since their answers were listed
        abort(404, "No such person: they were removed from the speaker library.")
    name = secure_filename(person.name) or "person"
    return _zip_of(items, f"{name}-answers.zip")


# ---- search ------------------------------------------------------------------------------------


@pages.app_template_filter("highlight")
def highlight(text: str, query: str) -> Markup:
    """The text with the searched words marked (by their first letters, as the search stems them)."""
    pattern = term_pattern(query)
    if pattern is None:
        return escape(text)
    marked, at = Markup(), 0
    for match in pattern.finditer(text):
        marked += escape(text[at : match.start()]) + Markup("<mark>") + escape(match.group()) + Markup("</mark>")
        at = match.end()
    return marked + escape(text[at:])


@pages.get("/search")
def search_page():
    """What was said, across every transcript: the sentence, who, which video, when; play, or cut it."""
    uow = unit_of_work()
    query = request.args.get("q", "").strip()[:500]
    error, hits, filters = None, [], {}
    try:
        filters = search_filters()
        hits = search(uow, query, **filters) if query else []
    except BadRequest as problem:
        error = str(problem)
    return render_template(
        "search.html",
        query=query,
        hits=hits,
        error=error,
        filters=filters,
        people=read.people(uow),
        videos=read.recent_videos(uow, limit=500),
    )


ZIP_CHUNK_BYTES = 256 * 2**10  # what a zip being sent holds in memory at once, whatever its size


def _zip_of(items: list[ClipInLibrary], download_name: str) -> Response:
    """The clips' MP4 and SRT files as one zip, streamed as it is read from disk (nothing is kept: 30
    downloads at once cost 30 chunks, not 30 archives), under their descriptive names."""
    members = []
    for item in items:
        stem = presenters.clip_file_name(item.video.title, item.exchange.label, item.clip, item.speaker_name, "mp4")[
            :-4
        ]
        members += [
            (path, f"{stem}_{item.clip.id}.{ext}")
            for path, ext in ((item.clip.path, "mp4"), (item.clip.srt_path, "srt"))
            if path
        ]
    response = Response(_zip_stream(members), mimetype="application/zip")
    response.headers.set("Content-Disposition", "attachment", filename=download_name)
    return response


class _Outbox:
    """Where zipfile writes the archive: bytes wait here only until the response takes them. It cannot
    seek, so zipfile writes each member's sizes after its data (a data descriptor)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        """Nothing to release; zipfile leaves a file it was given open, but its type asks for this."""

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def _zip_stream(members: list[tuple[str, str]]) -> Iterator[bytes]:
    """A stored (uncompressed) zip of these files under these names, chunk by chunk; a file removed since
    it was listed is left out."""
    outbox = _Outbox()
    with zipfile.ZipFile(outbox, "w", zipfile.ZIP_STORED) as bundle:
        for path, name in members:
            try:
                info = zipfile.ZipInfo.from_file(path, name)
                source = open(path, "rb")  # noqa: SIM115  (closed below, once copied)
            except OSError:
                continue
            with source, bundle.open(info, "w") as member:
                while block := source.read(ZIP_CHUNK_BYTES):
                    member.write(block)
                    yield outbox.take()
            yield outbox.take()
    yield outbox.take()


def _errors_context() -> dict[str, Any]:
    return {"errors": read.error_log(unit_of_work(), ERRORS_SHOWN), "limit": ERRORS_SHOWN}


@pages.get("/errors")
def error_log():
    return render_template("errors.html", **_errors_context())


@pages.get("/partials/errors")
def errors_fragment():
    return render_template("_errors.html", **_errors_context())
