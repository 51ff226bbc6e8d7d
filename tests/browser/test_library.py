"""The speaker library and search in a real browser: a voice named in one video is suggested in another
and accepted, the People and person pages list it with its answers, and a search plays from its hit."""

from __future__ import annotations

import io
import zipfile

import pytest
from playwright.sync_api import expect

import store.engine
import store.speakers
import store.steps
import store.transcripts
from operations import people
from operations.exchanges import create_exchange
from pipeline.types import Exchange, Turn
from tests.browser.conftest import PHONE, STEP_MS, accessibility_problems, segment
from tests.support.common import wait_until
from tests.support.voices import voice

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def interview(flask_app, video_id: int, prints: dict, question: str, answer: str) -> int:
    """Set-up only (the pages change it through the API): a transcript, speakers with these voiceprints,
    phase 1 done and one Q&A in which SPEAKER_01 answers."""
    conn = store.engine.connect_to(flask_app.config["SETTINGS"])
    try:
        with store.engine.transaction(conn):
            store.transcripts.replace_segments(
                conn, video_id, [segment(0.0, 1.5, question, "SPEAKER_00"), segment(1.5, 3.8, answer, "SPEAKER_01")]
            )
            store.transcripts.replace_turns(
                conn, video_id, [Turn(0.0, 1.5, "SPEAKER_00"), Turn(1.5, 3.8, "SPEAKER_01")]
            )
            store.speakers.ensure_speakers(conn, video_id, sorted(prints))
            people.store_voices(conn, video_id, prints)
            create_exchange(
                conn, video_id, "spkchg_1", "auto", Exchange(0.0, 3.8, question, "SPEAKER_00", "SPEAKER_01")
            )
            for step in store.steps.steps_of(conn, [video_id]):
                store.steps.update_step(conn, step.id, state="done", progress=1.0)
    finally:
        conn.close()
    return video_id


@pytest.fixture
def two_interviews(api, media_site, flask_app) -> tuple[int, int]:
    videos = []
    for _ in range(2):
        video_id = api.submit(f"{media_site.base_url}/talk/master.m3u8", resolution="360")
        assert api.wait_step(video_id, "download")["state"] == "done"
        videos.append(video_id)
    first = interview(
        flask_app,
        videos[0],
        {"SPEAKER_00": voice(11), "SPEAKER_01": voice(12)},
        "What keeps you sailing?",
        "The harbour lights at dawn, every time.",
    )
    again = {"SPEAKER_00": voice(13), "SPEAKER_01": voice(14, near=12, similarity=0.85)}  # the same answerer
    second = interview(flask_app, videos[1], again, "Why do you still sail?", "Because the harbour never sleeps.")
    return first, second


def test_a_named_voice_is_recognised_accepted_and_listed_with_its_answers(page, two_interviews, api, screenshot):
    first, second = two_interviews
    page.goto(f"/videos/{first}")
    row = page.locator('#speakers .speaker-row[data-label="SPEAKER_01"]')
    expect(row.get_by_label("Remember this voice", exact=False)).to_be_checked()
    row.locator('input[name="name"]').fill("Ada Lovelace")
    row.get_by_role("button", name="Rename").click()
    expect(page.locator("#speakers-feedback")).to_contain_text("in the speaker library")
    expect(row.locator(".speaker-person")).to_contain_text("Ada Lovelace")

    page.goto(f"/videos/{second}")
    row = page.locator('#speakers .speaker-row[data-label="SPEAKER_01"]')
    expect(row.locator(".speaker-suggestion")).to_contain_text("Sounds like Ada Lovelace")
    expect(row.locator(".speaker-suggestion")).to_contain_text("85 % alike")
    expect(page.locator('#speakers .speaker-row[data-label="SPEAKER_00"] .speaker-suggestion')).to_have_count(0)
    page.locator("#speakers-card").scroll_into_view_if_needed()
    screenshot("details-speaker-suggestion")
    row.get_by_role("button", name="Yes, Ada Lovelace").click()
    expect(page.locator('#speakers .speaker-row[data-label="SPEAKER_01"] .speaker-person')).to_contain_text(
        "Ada Lovelace"
    )
    expect(page.locator("#transcript .segment").nth(1).locator(".speaker-chip")).to_have_text("Ada Lovelace")

    page.get_by_role("link", name="People", exact=True).click()
    person = page.locator("#people tbody tr").filter(has_text="Ada Lovelace")  # other tests name people too
    expect(person).to_have_count(1)
    expect(person.locator("td").nth(1)).to_have_text("2")  # videos
    expect(person.locator("td").nth(3)).to_have_text("2")  # answers
    screenshot("people")

    person.get_by_role("link", name="Ada Lovelace").click()
    answers = page.locator("#answers .answer")
    expect(answers).to_have_count(2)
    expect(answers.nth(0)).to_contain_text("What keeps you sailing?")
    expect(answers.nth(1)).to_contain_text("Why do you still sail?")
    answers.nth(1).locator(".answer-pick").uncheck()
    expect(page.locator("#select-all-answers")).not_to_be_checked()
    expect(page.locator("#download-answers")).to_have_attribute(
        "href", f"/people/{person_id(page)}/answers.zip?exchange={exchange_of(answers.nth(0))}"
    )
    page.get_by_role("button", name="Cut selected").click()
    expect(page.locator("#person-feedback")).to_contain_text("1 answer queued to be cut")
    screenshot("person")

    chosen = exchange_of(answers.nth(0))
    wait_until(
        lambda: all(s["state"] == "done" for s in api.get(f"/api/exchanges/{chosen}")["steps"]),
        timeout=STEP_MS / 1000,
        what="the chosen answer to be cut",
    )
    page.reload()
    expect(page.locator(f'.answer[data-exchange="{chosen}"] .answer-state')).to_contain_text("cut")
    zipped = page.request.get(page.locator("#download-answers").get_attribute("href"))
    assert zipped.ok and zipped.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(zipped.body())).namelist()
    assert sorted(name.rsplit(".", 1)[1] for name in names) == ["mp4", "srt"], names  # the one answer, subtitled


def person_id(page) -> str:
    return page.locator("#person").get_attribute("data-person")


def exchange_of(answer) -> str:
    return answer.get_attribute("data-exchange")


def test_search_finds_a_sentence_across_videos_and_plays_from_it(page, two_interviews, screenshot):
    first, second = two_interviews
    page.goto("/search")
    page.get_by_label("Words, or").fill("harbour")
    page.locator("#search-form button[type=submit]").click()
    for video_id in (first, second):  # other tests' videos may say it too
        expect(page.locator(f'#hits .hit[data-video="{video_id}"]')).to_have_count(1)
    expect(page.locator(f'#hits .hit[data-video="{first}"] mark')).to_have_text("harbour")
    screenshot("search")
    hit = page.locator(f'#hits .hit[data-video="{second}"]')
    hit.get_by_role("link", name="Play from here").click()
    page.wait_for_url(f"**/videos/{second}#t=1.5")
    page.wait_for_function("document.getElementById('player').currentTime >= 1.4")


def test_the_library_pages_pass_axe_at_desktop_and_phone_sizes(page, two_interviews, api):
    first, _second = two_interviews
    api.call("PUT", f"/api/videos/{first}/speakers/SPEAKER_01", {"name": "Grace Hopper"})
    person = next(p for p in api.get("/api/people")["people"] if p["name"] == "Grace Hopper")
    found = {}
    for size in (page.viewport_size, PHONE):
        page.set_viewport_size(size)
        for path in ("/people", f"/people/{person['id']}", "/search", "/search?q=harbour", f"/videos/{first}"):
            page.goto(path)
            page.wait_for_load_state("networkidle")
            found[f"{path} at {size['width']} px"] = accessibility_problems(page)
    assert not any(found.values()), "\n".join(f"{where}: {line}" for where, lines in found.items() for line in lines)
