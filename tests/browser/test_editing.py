"""Editing that respects a person's time (issue 26), in a real browser at desktop and phone size: the
transcript reads with spaces, a Q&A is trimmed on its waveform with one drag (one request) and cut again,
a misheard line is fixed, a Q&A is picked by tapping words on a phone, and a search hit is a sentence
clipped as a clip from search. The trim is measured: gestures, requests, and the time from the last
gesture to the new clip playing (tests/artifacts/editor-trim.json)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

import store.engine
import store.speakers
import store.steps
import store.transcripts
import store.videos
from pipeline.types import Segment, Word
from tests.browser.conftest import PHONE, STEP_MS, accessibility_problems, log_in_if_asked
from tests.support.common import wait_until
from tests.support.media_factory import MediaServer, make_hls

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def line(start: float, end: float, text: str, speaker: str) -> Segment:
    """A line as faster-whisper's words are stored: stripped of their spaces, times shared evenly."""
    tokens = text.split()
    step = (end - start) / len(tokens)
    words = tuple(
        Word(round(start + i * step, 3), round(start + (i + 1) * step, 3), token, 0.9, speaker)
        for i, token in enumerate(tokens)
    )
    return Segment(start, end, text, words, speaker)


# The question's first sentence is 12 words of 0.25 s: trimming the start by 3 s drops it.
GREETING = "Well, good morning and welcome back to the show this fine evening."
QUESTION = "So Teri speaking, how can I help you today my friend?"
TALK = (
    line(0.5, 2.0, "Thanks for holding the line.", "SPEAKER_01"),
    line(2.0, 7.75, f"{GREETING} {QUESTION}", "SPEAKER_00"),
    line(8.0, 11.0, "I would like to reset my radio clock, please.", "SPEAKER_01"),
)
QA = (2.0, 11.0)


@pytest.fixture(scope="module")
def long_site(tmp_path_factory) -> Iterator[MediaServer]:
    root = tmp_path_factory.mktemp("long-site")
    make_hls(root / "talk", duration=14.0)
    with MediaServer(root) as server:
        yield server


def give_transcript(flask_app, video_id: int, segments=TALK) -> None:
    conn = store.engine.connect_to(flask_app.config["SETTINGS"])
    try:
        with store.engine.transaction(conn):
            store.transcripts.replace_segments(conn, video_id, segments)
            store.videos.update_video(conn, video_id, language="en")
            store.speakers.ensure_speakers(conn, video_id, ["SPEAKER_00", "SPEAKER_01"])
            for name in ("transcribe", "diarize"):  # as if they had run: phase 2 needs them done
                store.steps.update_step(
                    conn, store.steps.find_step(conn, video_id, name).id, state="done", progress=1.0
                )
    finally:
        conn.close()


@pytest.fixture
def talk(api, long_site, flask_app) -> int:
    """A 14 s video downloaded, its audio extracted (the waveform is made from it), and a transcript."""
    video_id = api.submit(f"{long_site.base_url}/talk/master.m3u8", resolution="360")
    assert api.wait_step(video_id, "download")["state"] == "done"
    assert api.call("POST", f"/api/videos/{video_id}/steps/audio")[0] == 202
    assert api.wait_step(video_id, "audio")["state"] == "done"
    give_transcript(flask_app, video_id)
    return video_id


@pytest.fixture
def phone(browser, live_server):
    """A phone: 390 × 844, touch."""
    context = browser.new_context(base_url=live_server.base_url, viewport=PHONE, has_touch=True, is_mobile=True)
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    log_in_if_asked(tab)
    yield tab
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def touch_drag(tab, start: tuple[float, float], end: tuple[float, float], steps: int = 12) -> None:
    """A finger put down, moved and lifted (Chromium turns it into touch pointer events)."""
    cdp = tab.context.new_cdp_session(tab)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": start[0], "y": start[1]}]})
    for n in range(1, steps + 1):
        x, y = start[0] + (end[0] - start[0]) * n / steps, start[1] + (end[1] - start[1]) * n / steps
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def centre(box: dict) -> tuple[float, float]:
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def strip_x(tab, seconds: float) -> float:
    """Where a time is on the editor's strip, in the window's coordinates."""
    return tab.evaluate(
        """seconds => { const start = Number(document.querySelector('.editor-handle[data-edge="start"]')
             .getAttribute('aria-valuemin'));
           const track = document.getElementById('editor-track').getBoundingClientRect();
           const width = track.width; const end = Number(document.querySelector('.editor-handle[data-edge="start"]')
             .getAttribute('aria-valuemax'));
           return track.left + (seconds - start) * width / (end - start); }""",
        seconds,
    )


def cut_qa(api, video_id: int, start: float, end: float) -> int:
    status, body = api.call("POST", f"/api/videos/{video_id}/exchanges", {"start": start, "end": end, "process": True})
    assert status == 201, body
    exchange_id = body["exchange"]["id"]
    wait_until(
        lambda: all(s["state"] == "done" for s in api.get(f"/api/exchanges/{exchange_id}")["steps"]),
        timeout=STEP_MS / 1000,
        what="the clips to be cut",
    )
    return exchange_id


# ---- 1: the transcript has spaces between its words ----------------------------------------------------


def test_the_transcript_reads_with_spaces_between_words_at_both_sizes(page, transcribed, flask_app, screenshot):
    give_transcript(flask_app, transcribed, (line(0.0, 3.8, "So Teri speaking, how can I help you?", "SPEAKER_00"),))
    page.goto(f"/videos/{transcribed}")
    text = page.locator("#transcript .seg-text").first
    desktop = page.viewport_size
    for size in (desktop, PHONE):
        page.set_viewport_size(size)
        assert text.inner_text() == "So Teri speaking, how can I help you?"  # read back as rendered
    page.set_viewport_size(desktop)
    expect(page.locator("#transcript .w")).to_have_count(8)  # still one element per word, to click and pick
    screenshot("editing-transcript-spaces")


# ---- 2 and 10: the clip editor -----------------------------------------------------------------------------


def test_a_qa_is_trimmed_on_its_waveform_with_one_drag_and_cut_again(page, talk, api, screenshot, artifacts_dir):
    exchange_id = cut_qa(api, talk, *QA)
    page.goto(f"/videos/{talk}")
    expect(page.locator("#live-status")).to_have_attribute("data-status", "live")
    changes: list[str] = []
    page.on("request", lambda r: r.method != "GET" and "/api/" in r.url and changes.append(f"{r.method} {r.url}"))
    group = page.locator(f'#clips section[data-exchange-id="{exchange_id}"]')
    old_clip = group.locator("video").first.get_attribute("src")

    page.locator(f'.edit-exchange[data-exchange="{exchange_id}"]').click()
    editor = page.locator("#editor-card")
    expect(editor).to_be_visible()
    expect(editor).to_have_attribute("data-waveform", "ready")
    expect(page.locator("#editor-question")).to_have_text(f"{GREETING} {QUESTION}")
    screenshot("editing-editor-open")

    # One gesture: the start handle dragged 3 s later; it snaps to the word there ("So", at 5.0 s).
    handle = page.locator('.editor-handle[data-edge="start"]')
    x, y = centre(handle.bounding_box())
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(strip_x(page, 5.02), y, steps=12)
    page.mouse.up()
    dropped = time.monotonic()
    expect(page.locator("#editor-status")).to_contain_text("Saved: 0:05.0 – 0:11.0")
    expect(group).to_have_attribute("data-out-of-date", "", timeout=5_000)  # the old clips, marked at once
    marked_after = time.monotonic() - dropped
    expect(group.locator(".clips-out-of-date")).to_contain_text("changed since these clips were cut")
    expect(page.locator("#editor-question")).to_have_text(QUESTION)
    trimmed = api.get(f"/api/exchanges/{exchange_id}")
    assert (trimmed["start"], trimmed["end"]) == pytest.approx((5.0, 11.0), abs=0.01)
    assert trimmed["question"] == QUESTION
    row = page.locator(f'#exchanges tr[data-exchange-id="{exchange_id}"]')
    expect(row.locator(".exchange-question")).to_have_text(QUESTION)
    assert changes == [f"PATCH {api.base_url}/api/exchanges/{exchange_id}"], changes
    screenshot("editing-editor-trimmed")

    # Hear it before cutting: the page's player plays the range and stops at its end.
    page.click("#editor-play")
    page.wait_for_function(
        "() => { const p = document.getElementById('player'); return !p.paused && p.currentTime >= 4.9; }"
    )
    page.wait_for_function("() => document.getElementById('player').paused", timeout=15_000)
    played_to = page.evaluate("document.getElementById('player').currentTime")
    assert 10.9 <= played_to <= 11.4, played_to

    # The second gesture: "Cut again" acts and says what it started; then the new clip plays.
    page.click("#editor-cut")
    clicked = time.monotonic()
    expect(page.locator("#editor-status")).to_have_text(
        "Cutting Manual Q&A 1 again: Label speakers → Define clips → Cut clips"
    )
    expect(page.locator("#page-note")).to_contain_text("Cutting Manual Q&A 1 again")
    new_clip = group.locator("video").first
    expect(new_clip).not_to_have_attribute("src", old_clip, timeout=STEP_MS)
    expect(group).not_to_have_attribute("data-out-of-date", "")
    new_clip.evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function(
        "selector => { const v = document.querySelector(selector); return v && v.currentTime > 0.1 && !v.error; }",
        arg=f'#clips section[data-exchange-id="{exchange_id}"] video',
        timeout=20_000,
    )
    to_playing = time.monotonic() - clicked
    expect(page.locator("#editor-status")).to_contain_text("are ready under Clips")
    cut = api.get(f"/api/exchanges/{exchange_id}")
    (whole,) = [clip for clip in cut["clips"] if clip["kind"] == "exchange"]
    assert whole["start"] >= 4.9, whole  # cut from the new start
    assert changes == [
        f"PATCH {api.base_url}/api/exchanges/{exchange_id}",
        f"POST {api.base_url}/api/exchanges/{exchange_id}/cut",
    ]

    # Keys: three presses on the end handle are one request, once they pause.
    page.locator('.editor-handle[data-edge="end"]').focus()
    for _ in range(3):
        page.keyboard.press("ArrowLeft")
    expect(page.locator("#editor-status")).to_contain_text("Saved: 0:05.0 – 0:10.")
    assert len(changes) == 3 and changes[-1].startswith("PATCH"), changes
    screenshot("editing-editor-cut-again")

    measured = {
        "trim": "start of a Q&A moved 3 s later (12 words)",
        "gestures": 2,
        "requests": len(changes[:2]),
        "before_issue_26": {"gestures": 12, "requests": 12},
        "old_clips_marked_out_of_date_after_s": round(marked_after, 2),
        "cut_again_click_to_new_clip_playing_s": round(to_playing, 2),
    }
    (artifacts_dir / "editor-trim.json").write_text(json.dumps(measured, indent=2) + "\n")
    print("clip editor measurement:", measured)


def test_on_a_phone_the_editor_is_driven_by_touch_with_large_targets(phone, talk, api, artifacts_dir):
    status, body = api.call("POST", f"/api/videos/{talk}/exchanges", {"start": QA[0], "end": QA[1]})
    assert status == 201
    exchange_id = body["exchange"]["id"]
    phone.goto(f"/videos/{talk}")
    phone.locator(f'.edit-exchange[data-exchange="{exchange_id}"]').tap()
    editor = phone.locator("#editor-card")
    expect(editor).to_have_attribute("data-waveform", "ready")
    for control in editor.locator("button, .editor-handle").all():  # touch targets of 44 × 44 px at least
        box = control.bounding_box()
        assert box["width"] >= 44 and box["height"] >= 44, (
            control.get_attribute("aria-label") or control.inner_text(),
            box,
        )
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width == PHONE["width"], f"the page is {width} px wide on a {PHONE['width']} px phone"

    handle = phone.locator('.editor-handle[data-edge="start"]')
    handle.scroll_into_view_if_needed()
    x, y = centre(handle.bounding_box())
    touch_drag(phone, (x, y), (strip_x(phone, 5.02), y))
    expect(phone.locator("#editor-status")).to_contain_text("Saved: 0:05.0 – 0:11.0")
    assert api.get(f"/api/exchanges/{exchange_id}")["start"] == pytest.approx(5.0, abs=0.01)
    row = phone.locator(f'#exchanges tr[data-exchange-id="{exchange_id}"]')
    expect(row.locator(".exchange-question")).to_have_text(QUESTION)  # the sections above have settled
    phone.wait_for_load_state("networkidle")  # the refresh that followed the save has landed
    nudge, status = phone.locator("[data-nudge=end][data-way='-1']"), phone.locator("#editor-status")
    nudge.tap()
    try:
        expect(status).to_contain_text("Saved: 0:05.0 – 0:10.", timeout=5_000)
    except AssertionError:  # late in a long session a first tap can go unheard (closing note): a person taps again
        nudge.tap()
        expect(status).to_contain_text("Saved: 0:05.0 – 0:10.", timeout=15_000)
    phone.screenshot(path=str(artifacts_dir / "browser-editing-editor-touch-phone.png"), full_page=True)


# ---- fix the words ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_misheard_line_is_fixed_and_search_follows(page, transcribed, flask_app, screenshot, size):
    give_transcript(flask_app, transcribed, (line(0.0, 3.8, "So Teri speaking, how can I help you?", "SPEAKER_00"),))
    if size == "phone":
        page.set_viewport_size(PHONE)
    page.goto(f"/videos/{transcribed}")
    fix = page.get_by_role("button", name="Fix words")
    fix.click()
    expect(fix).to_have_attribute("aria-pressed", "true")
    page.locator("#transcript .seg-text").first.click()
    field = page.get_by_label("Correct the line at 0:00")
    expect(field).to_have_value("So Teri speaking, how can I help you?")
    if size == "desktop":  # the screenshot is taken at both sizes
        screenshot("editing-fix-line")
    field.fill("So Terry speaking, how can I help you?")
    field.press("Enter")
    expect(page.locator("#page-note")).to_contain_text("Corrected the line at 0:00")
    expect(page.locator("#transcript .seg-text").first).to_have_text("So Terry speaking, how can I help you?")
    expect(page.locator("#transcript .w").nth(1)).to_have_text("Terry")
    page.goto("/search?q=Terry")
    expect(page.locator("#hits .hit").first).to_contain_text("So Terry speaking, how can I help you?")


# ---- 3 and 9: a Q&A picked by tapping words, its question the words picked ------------------------------


def test_on_a_phone_a_qa_is_picked_by_tapping_its_first_and_last_words(phone, talk, api, artifacts_dir):
    phone.goto(f"/videos/{talk}")
    pick = phone.get_by_role("button", name="Pick words")
    pick.tap()
    expect(pick).to_have_attribute("aria-pressed", "true")
    words = phone.locator("#transcript .w")
    words.filter(has_text=re.compile(r"^So$")).tap()  # the 13th word of the asker's line
    expect(phone.locator("#manual-result")).to_contain_text("now tap the word the clip ends on")
    words.filter(has_text=re.compile(r"^please\.$")).tap()
    expect(phone.locator("#manual-start")).to_have_value("0:05.00")
    expect(phone.locator("#manual-end")).to_have_value("0:11.00")
    expect(phone.locator("#manual-result")).to_contain_text("“So Teri speaking, how can I help you today my friend?")
    bar = phone.locator("#pick-bar")  # "Add as a Q&A" at hand: no scrolling down to the form
    expect(bar).to_contain_text("0:05.00 – 0:11.00")
    assert bar.bounding_box()["y"] + bar.bounding_box()["height"] <= PHONE["height"], "the bar is in sight"
    phone.screenshot(path=str(artifacts_dir / "browser-editing-pick-words-phone.png"))
    phone.locator("#pick-add").tap()
    expect(phone.locator("#page-note")).to_contain_text("Added Manual Q&A 1")
    expect(bar).to_be_hidden()
    (made,) = api.get(f"/api/videos/{talk}/exchanges")["exchanges"]
    assert made["question"] == QUESTION  # nothing before the words
    assert (made["asker"], made["answerer"]) == ("SPEAKER_00", "SPEAKER_01")
    timeline = api.call("GET", f"/api/videos/{talk}/timeline.otio")
    assert timeline[0] == 200


def test_at_desktop_size_words_are_picked_with_the_mouse_too(page, talk, api):
    page.goto(f"/videos/{talk}")
    page.get_by_role("button", name="Pick words").click()
    page.locator("#transcript .w", has_text=re.compile(r"^Teri$")).click()
    page.locator("#transcript .w", has_text=re.compile(r"^friend\?$")).click()
    expect(page.locator("#manual-result")).to_contain_text("“Teri speaking, how can I help you today my friend?”")
    page.click("#manual-add")
    expect(page.locator("#manual-result")).to_contain_text("Added Manual Q&A 1")
    row = page.locator("#exchanges tr[data-exchange-id]")
    expect(row.locator(".exchange-question")).to_have_text("Teri speaking, how can I help you today my friend?")


# ---- 4: search hits are sentences, clipped as clips from search ----------------------------------------


def test_a_search_hit_is_a_sentence_clipped_as_a_clip_from_search(page, talk, api, flask_app, screenshot):
    fragments = (
        line(0.5, 2.0, "Twice a year,", "SPEAKER_00"),
        line(2.0, 5.0, "when you have to reset your radio clock,", "SPEAKER_00"),
        line(5.0, 6.5, "you think of him.", "SPEAKER_00"),
        line(7.0, 9.0, "Why is that?", "SPEAKER_01"),
    )
    give_transcript(flask_app, talk, fragments)
    page.goto(f"/search?q=radio+clock&video={talk}")
    hit = page.locator("#hits .hit")
    expect(hit).to_have_count(1)
    expect(hit.locator("p").first).to_have_text(
        "Twice a year, when you have to reset your radio clock, you think of him."
    )
    screenshot("editing-search-sentence")
    hit.get_by_role("button", name="Clip this sentence").click()
    expect(page.locator("#search-feedback")).to_contain_text("Queued to be cut")
    made = api.get(f"/api/videos/{talk}/exchanges")["exchanges"]
    assert [(e["title"], e["from_search"], e["start"], e["end"]) for e in made] == [
        ("Clip from search 1", True, 0.5, 6.5)
    ]
    page.goto(f"/videos/{talk}")
    expect(page.locator("#exchanges tr[data-exchange-id]")).to_have_count(0)  # not a Q&A
    group = page.locator("#clips section[data-exchange-id]")
    expect(group.locator("h2")).to_contain_text("Clip from search 1")
    expect(group.locator(".clip-card")).to_have_count(1, timeout=STEP_MS)  # exactly the sentence: one clip
    (clip,) = api.get(f"/api/exchanges/{made[0]['id']}")["clips"]
    assert (clip["start"], clip["end"]) == pytest.approx((0.5, 6.5), abs=0.01)


# ---- axe-core: the new parts are accessible at both sizes --------------------------------------------


def test_the_editor_and_the_transcript_modes_pass_axe_at_both_sizes(page, talk, api):
    assert api.call("POST", f"/api/videos/{talk}/exchanges", {"start": QA[0], "end": QA[1]})[0] == 201
    page.emulate_media(reduced_motion="reduce")  # no colour transition half-way when axe reads a pressed button
    found = {}
    for size in (page.viewport_size, PHONE):
        page.set_viewport_size(size)
        page.goto(f"/videos/{talk}")
        page.locator(".edit-exchange").first.click()
        expect(page.locator("#editor-card")).to_have_attribute("data-waveform", "ready")
        page.get_by_role("button", name="Fix words").click()
        page.locator("#transcript .seg-text").first.click()
        expect(page.locator("#fix-text")).to_be_visible()
        page.mouse.move(0, 0)  # nothing hovered: the page as it stays
        found[f"{size['width']} px"] = accessibility_problems(page)
    assert not any(found.values()), "\n".join(f"{where}: {line}" for where, lines in found.items() for line in lines)
