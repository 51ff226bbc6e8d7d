"""The speaker library: people, their videos and their answers across videos (list, cut, rename)."""

from __future__ import annotations

from flask import jsonify, request

from operations import people, presenters, timelines
from operations.answers import describe_answers
from routes import unit_of_work
from routes.api import BadRequest, Conflict, NotFound, api, json_body
from routes.api.exchanges import send_timeline, timeline_format
from store.records import PersonRecord


def person_or_404(person_id: int) -> PersonRecord:
    return _found(people.person(unit_of_work(), person_id), person_id)


def _found(person: PersonRecord | None, person_id: int) -> PersonRecord:
    if person is None:
        raise NotFound(f"no person {person_id} in the speaker library")
    return person


@api.get("/people")
def people_list():
    return jsonify(people=[presenters.describe_person(person) for person in people.list_people(unit_of_work())])


@api.get("/people/<int:person_id>")
def person(person_id: int):
    found = person_or_404(person_id)
    videos = people.videos_of(unit_of_work(), person_id)
    listed = [{"id": video.id, "title": video.title, "created_at": video.created_at} for video in videos]
    return jsonify(person=presenters.describe_person(found), videos=listed)


@api.patch("/people/<int:person_id>")
def rename_person(person_id: int):
    """A new name for the person, and for every speaker that is them (subtitles included)."""
    person_or_404(person_id)
    name = json_body().get("name")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 80:
        raise BadRequest("name must be text of 1 to 80 characters")
    try:
        renamed = people.rename_person(unit_of_work(), person_id, name.strip())
    except people.NameTaken as error:
        raise BadRequest(str(error)) from None
    return jsonify(person=presenters.describe_person(_found(renamed, person_id)))


@api.delete("/people/<int:person_id>")
def delete_person(person_id: int):
    """Out of the library: no more suggestions of them; speakers keep the name they were given."""
    person_or_404(person_id)
    people.delete_person(unit_of_work(), person_id)
    return "", 204


@api.get("/people/<int:person_id>/answers")
def answers(person_id: int):
    """Every exchange, across videos, in which the person answers, with its steps and clips."""
    person_or_404(person_id)
    return jsonify(answers=describe_answers(unit_of_work(), person_id))


@api.get("/people/<int:person_id>/timeline.<fmt>")
def answers_timeline(person_id: int, fmt: str):
    """Their answers across videos as one editing timeline with sound (.otio, .fcpxml, .edl): a clip per
    answer of its own video, each video referenced by the name its source download is saved under. All of
    them, or `?exchange=<id>` repeated."""
    person = person_or_404(person_id)
    timeline_format(fmt)
    wanted = request.args.getlist("exchange")
    if not all(item.isdigit() for item in wanted):
        raise BadRequest("exchange must be an exchange id")
    try:
        people.their_answers(unit_of_work(), person_id, [int(item) for item in wanted])
    except people.NotTheirAnswers as error:  # named as they were asked for
        strangers = [item for item in wanted if int(item) in error.strangers]
        raise BadRequest(f"not answers of this person: {', '.join(strangers)}") from None
    built = timelines.answers_timeline(unit_of_work(), person, [int(item) for item in wanted] or None)
    if built is None:
        raise Conflict(f"{person.name} answers in no Q&A yet: name them in a video that has its Q&A first")
    return send_timeline(built, fmt, presenters.answers_file_stem(person))


@api.post("/people/<int:person_id>/answers/cut")
def cut_answers(person_id: int):
    """{"exchange_ids": [...]} (all of their answers when left out): each goes through phase 2 and is cut."""
    person_or_404(person_id)
    body = json_body() if request.content_length else {}
    wanted = body.get("exchange_ids")
    if "exchange_ids" in body and (not isinstance(wanted, list) or not all(isinstance(item, int) for item in wanted)):
        raise BadRequest("exchange_ids must be a list of exchange ids")
    try:
        queued, kept = people.cut_answers(unit_of_work(), person_id, wanted)
    except (people.NotTheirAnswers, people.NoAnswers) as error:
        raise BadRequest(str(error)) from None
    return jsonify(steps=queued, already_cut=kept), 202
