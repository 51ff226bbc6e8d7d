"""A Q&A's one caption choice, `captions`: what its clips burn in, what the API says and what the page shows."""

from __future__ import annotations

import dataclasses
import re

import pytest

import store.engine
import store.steps
from operations.exchanges import create_exchange
from pipeline.subtitles import burned_caption_style, style_when_burned
from pipeline.types import Exchange


@pytest.mark.parametrize(
    ("captions", "by_default", "burned"),
    [
        (None, False, None),
        (None, True, "clean"),
        ("none", True, None),
        ("pop", False, "pop"),
        ("bilingual", True, "bilingual"),
        ("plain", False, "clean"),
        ("words", False, "highlight"),
    ],
)
def test_the_choice_or_else_the_setting_decides_the_style_burned_in(captions, by_default, burned):
    assert burned_caption_style(captions, by_default) == burned


def test_a_cut_asked_for_captions_burns_the_chosen_style_or_clean():
    assert [style_when_burned(captions) for captions in (None, "none", "highlight")] == ["clean", "clean", "highlight"]


@pytest.fixture
def exchange_id(app, client) -> int:
    """A Q&A whose cut may run (its video and first two steps done), its captions never chosen."""
    video_id = client.post("/api/videos", json={"urls": ["https://example.org/talk"]}).get_json()["videos"][0]["id"]
    conn = store.engine.connect_to(app.config["SETTINGS"])
    try:
        for step in store.steps.steps_of(conn, [video_id]):
            store.steps.update_step(conn, step.id, state="done", progress=1.0)
        with store.engine.transaction(conn):
            created = create_exchange(conn, video_id, "man_1", "manual", Exchange(0, 9, "Why?", "", ""))
        for name in ("label_speakers", "define_clips"):
            store.steps.update_step(conn, store.steps.find_step(conn, video_id, name, created).id, state="done")
    finally:
        conn.close()
    return created


def test_the_exchange_says_its_captions_and_null_until_chosen(client, exchange_id):
    described = client.get(f"/api/exchanges/{exchange_id}").get_json()
    assert described["captions"] is None
    assert "burn_subtitles" not in described and "caption_style" not in described
    assert client.patch(f"/api/exchanges/{exchange_id}", json={"captions": "pop"}).get_json()["captions"] == "pop"
    assert client.patch(f"/api/exchanges/{exchange_id}", json={"captions": "none"}).get_json()["captions"] == "none"


def test_a_cut_keeps_the_captions_it_asks_for_and_still_takes_burn_subtitles(client, exchange_id):
    url = f"/api/exchanges/{exchange_id}"

    def cut(body) -> str | None:
        assert client.post(f"{url}/steps/cut_clips", json=body).status_code == 202
        assert client.post(f"{url}/steps/cut_clips/cancel").status_code == 200
        return client.get(url).get_json()["captions"]

    assert cut({}) is None, "a cut that asks nothing leaves the choice to the setting"
    assert cut({"captions": "pop"}) == "pop"
    assert cut({"captions": "words"}) == "highlight", "the old style names still work"
    assert cut({"burn_subtitles": False}) == "none"
    assert cut({"burn_subtitles": True}) == "clean", "no style chosen: clean"
    client.patch(url, json={"captions": "bilingual"})
    assert cut({"burn_subtitles": True}) == "bilingual", "the chosen style"


@pytest.mark.parametrize(("by_default", "shown"), [(False, "none"), (True, "clean")])
def test_the_captions_menu_shows_the_setting_until_a_choice_is_made(app, client, exchange_id, by_default, shown):
    app.config["SETTINGS"] = dataclasses.replace(app.config["SETTINGS"], clip_burn_subtitles=by_default)
    video_id = client.get(f"/api/exchanges/{exchange_id}").get_json()["video_id"]

    def selected() -> str:
        html = client.get(f"/videos/{video_id}").get_data(as_text=True)
        menu = re.search(r'<select[^>]*name="captions".*?</select>', html, re.S)
        assert menu is not None
        return re.findall(r'<option value="(\w+)" selected>', menu.group(0))[0]

    assert selected() == shown
    client.patch(f"/api/exchanges/{exchange_id}", json={"captions": "highlight"})
    assert selected() == "highlight"
    client.patch(f"/api/exchanges/{exchange_id}", json={"captions": "none"})
    assert selected() == "none"
