"""The speaker library: people, their videos and their answers across videos (list, cut, rename)."""

from __future__ import annotations

from flask import jsonify, request

import store.engine
import store.speakers
import store.videos
from operations import library, people, presenters
from routes import get_db, step_service
from routes.api import BadRequest, Conflict, NotFound, api, json_body
from routes.api.exchanges import send_timeline, timeline_format
from store.records import PersonRecord


def person_or_404(person_id: int) -> PersonRecord:
    person = store.speakers.get_person(get_db(), person_id)
    if person is None:
        raise NotFound(f"no person {person_id} in the speaker library")
    return person


@api.get("/people")
def people_list():
    return jsonify(people=[presenters.describe_person(person) for person in store.speakers.list_people(get_db())])


@api.get("/people/<int:person_id>")
def person(person_id: int):
    found = person_or_404(person_id)
    conn = get_db()
    videos = [store.videos.get_video(conn, video_id) for video_id in store.speakers.videos_of_person(conn, person_id)]
    listed = [{"id": video.id, "title": video.title, "created_at": video.created_at} for video in videos]
    return jsonify(person=presenters.describe_person(found), videos=listed)


@api.patch("/people/<int:person_id>")
def rename_person(person_id: int):
    """A new name for the person, and for every speaker that is them (subtitles included)."""
    person_or_404(person_id)
    name = json_body().get("name")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 80:
        raise BadRequest("name must be text of 1 to 80 characters")
    conn = get_db()
    with store.engine.transaction(conn):  # checked under the write lock: two renames to one name cannot both pass
        clash = store.speakers.find_person(conn, name.strip())
        if clash is not None and clash.id != person_id:
            raise BadRequest(f"{clash.name!r} is already in the library (person {clash.id})")
        store.speakers.rename_person(conn, person_id, name.strip())
    for video_id in store.speakers.videos_of_person(conn, person_id):
        library.rewrite_clip_subtitles(conn, video_id)
        step_service().publish({"type": "speakers", "video_id": video_id})
    return jsonify(person=presenters.describe_person(person_or_404(person_id)))


@api.delete("/people/<int:person_id>")
def delete_person(person_id: int):
    """Out of the library: no more suggestions of them; speakers keep the name they were given."""
    person_or_404(person_id)
    conn = get_db()
    videos = store.speakers.videos_of_person(conn, person_id)
    with store.engine.transaction(conn):
        store.speakers.delete_person(conn, person_id)
        changed = people.refresh_suggestions(conn)  # their voices no longer suggest them; others may show
    for video_id in sorted({*videos, *changed}):
        step_service().publish({"type": "speakers", "video_id": video_id})
    return "", 204


@api.get("/people/<int:person_id>/answers")
def answers(person_id: int):
    """Every exchange, across videos, in which the person answers, with its steps and clips."""
    person_or_404(person_id)
    return jsonify(answers=library.describe_answers(get_db(), person_id))


@api.get("/people/<int:person_id>/timeline.<fmt>")
def answers_timeline(person_id: int, fmt: str):
    """Their answers across videos as one editing timeline with sound (.otio, .fcpxml, .edl): a clip per
    answer of its own video, each video referenced by the name its source download is saved under. All of
    them, or `?exchange=<id>` repeated."""
    person = person_or_404(person_id)
    timeline_format(fmt)
    conn = get_db()
    wanted = request.args.getlist("exchange")
    if not all(item.isdigit() for item in wanted):
        raise BadRequest("exchange must be an exchange id")
    theirs = {exchange.id for exchange in store.speakers.answers_of_person(conn, person_id)}
    strangers = [item for item in wanted if int(item) not in theirs]
    if strangers:
        raise BadRequest(f"not answers of this person: {', '.join(strangers)}")
    built = library.answers_timeline(conn, person, [int(item) for item in wanted] or None)
    if built is None:
        raise Conflict(f"{person.name} answers in no Q&A yet: name them in a video that has its Q&A first")
    return send_timeline(built, fmt, presenters.answers_file_stem(person))


@api.post("/people/<int:person_id>/answers/cut")
def cut_answers(person_id: int):
    """{"exchange_ids": [...]} (all of their answers when left out): each goes through phase 2 and is cut."""
    person_or_404(person_id)
    conn = get_db()
    theirs = {exchange.id: exchange for exchange in store.speakers.answers_of_person(conn, person_id)}
    body = json_body() if request.content_length else {}
    wanted = body.get("exchange_ids", list(theirs))
    if not isinstance(wanted, list) or not all(isinstance(item, int) for item in wanted):
        raise BadRequest("exchange_ids must be a list of exchange ids")
    strangers = [item for item in wanted if item not in theirs]
    if strangers:
        raise BadRequest(f"not answers of this person: {', '.join(map(str, strangers))}")
    if not wanted:
        raise BadRequest("this person answers in no exchange yet")
    queued, kept = library.process_exchanges(conn, step_service(), [theirs[item] for item in wanted], keep_cut=True)
    return jsonify(steps=queued, already_cut=kept), 202
