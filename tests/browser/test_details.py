"""A video's details page in a real browser: run a step, the transcript, speakers, manual exchanges."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from operations import steps
from tests.browser.conftest import PHONE, STEP_MS, accessibility_problems, cut_a_qa
from tests.support.common import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def step_row(page, name: str):
    return page.locator(f'#control-panel .step-row[data-step="{name}"]')


def test_running_a_step_from_the_control_panel(page, downloaded, screenshot):
    page.goto(f"/videos/{downloaded}")
    expect(page.locator("#live-status")).to_have_attribute("data-status", "live")
    expect(page.locator("#player")).to_have_attribute("src", f"/media/videos/{downloaded}")
    expect(step_row(page, "download").locator(".step-state")).to_have_text("done")
    expect(step_row(page, "download").locator(".step-run")).to_have_text("Re-run")
    expect(step_row(page, "transcribe").locator(".step-run")).to_be_disabled()
    audio = step_row(page, "audio")
    expect(audio.locator(".step-run")).to_have_text("Run")
    expect(audio.locator(".step-run")).to_be_enabled()

    audio.locator(".step-run").click()
    expect(audio).to_have_attribute("data-state", "done", timeout=STEP_MS)
    expect(audio.locator(".step-time")).to_contain_text("took")
    expect(audio.locator(".step-run")).to_have_text("Re-run")
    expect(step_row(page, "transcribe").locator(".step-run")).to_be_enabled()
    expect(step_row(page, "exchanges").locator(".step-run")).to_be_disabled()
    expect(page.locator("#video-status")).to_have_text("partial")
    screenshot("details-pipeline")


def test_transcript_speakers_and_a_manual_exchange(page, transcribed, api, screenshot):
    page.goto(f"/videos/{transcribed}")
    segments = page.locator("#transcript .segment")
    expect(segments).to_have_count(3)
    expect(segments.nth(1).locator(".seg-text")).to_have_text(' Curiosity, <b>mostly</b> & "luck".')
    expect(page.locator("#transcript b")).to_have_count(0)  # shown as text, never as markup
    expect(segments.nth(0).locator(".speaker-chip")).to_have_text("Speaker 1")  # until named

    # Rename a speaker: the transcript follows.
    speaker = page.locator('#speakers .speaker-row[data-label="SPEAKER_00"]')
    speaker.locator("input").fill("Ada Lovelace")
    speaker.locator("button").click()
    expect(page.locator("#speakers-feedback")).to_contain_text("Saved as Ada Lovelace")
    expect(segments.nth(0).locator(".speaker-chip")).to_have_text("Ada Lovelace")
    expect(segments.nth(2).locator(".speaker-chip")).to_have_text("Ada Lovelace")
    names = {item["label"]: item["name"] for item in api.get(f"/api/videos/{transcribed}/speakers")["speakers"]}
    assert names == {"SPEAKER_00": "Ada Lovelace", "SPEAKER_01": "Speaker 2"}

    # Clicking a time plays from there; clicking a word plays from that word; the keys move and pause.
    segments.nth(2).locator(".seg-time").click()
    page.wait_for_function("document.getElementById('player').currentTime >= 2.4")
    second_word = segments.nth(1).locator(".w").nth(1)
    expect(second_word).to_have_text(" <b>mostly</b>")
    second_word.click()
    page.wait_for_function("Math.abs(document.getElementById('player').currentTime - 1.525) < 0.3")
    page.locator("#transcript-hint").click()  # focus away from any field
    page.keyboard.press("k")
    page.wait_for_function("document.getElementById('player').paused")
    page.keyboard.press("j")
    page.wait_for_function("document.getElementById('player').currentTime < 0.1")

    # Dragging across words picks them for a clip, snapped to whole words, without moving the player.
    page.evaluate("document.getElementById('player').pause()")
    first, second = (segments.nth(1).locator(".w").nth(i).bounding_box() for i in (0, 1))
    page.mouse.move(first["x"] + first["width"] / 2, first["y"] + first["height"] / 2)
    page.mouse.down()
    page.mouse.move(second["x"] + second["width"] / 2, second["y"] + second["height"] / 2, steps=5)
    page.mouse.up()
    expect(page.locator("#manual-start")).to_have_value("0:01.20")
    expect(page.locator("#manual-end")).to_have_value("0:01.85")
    expect(page.locator("#transcript .w.picked")).to_have_count(2)
    assert page.evaluate("document.getElementById('player').currentTime") < 0.1

    # Shift-clicking two words does the same across segments; the Q&A is created through the API.
    segments.nth(0).locator(".w").first.click(modifiers=["Shift"])
    expect(page.locator("#manual-start")).to_have_value("0:00.00")
    segments.nth(2).locator(".w").last.click(modifiers=["Shift"])
    expect(page.locator("#manual-end")).to_have_value("0:03.80")
    expect(page.locator("#transcript .segment.chosen")).to_have_count(3)
    expect(page.locator("#transcript .w.picked")).to_have_count(14)
    page.click("#manual-add")
    expect(page.locator("#manual-result")).to_contain_text("Added Manual Q&A 1")

    row = page.locator("#exchanges tr[data-exchange-id]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Manual Q&A 1")
    expect(row).to_contain_text("by hand")
    for definition in (d for d in steps.REGISTRY if d.phase == 2):  # the registry's icon and words
        button = row.locator(f'.phase2-step[data-step="{definition.name}"]')
        expect(button.locator(f"i.{definition.icon}")).to_have_count(1)
        expect(button).to_have_attribute("title", re.compile(f"^{definition.title}: pending"))
    expect(row.locator('.phase2-step[data-step="label_speakers"]')).to_be_enabled()
    expect(row.locator('.phase2-step[data-step="define_clips"]')).to_be_disabled()
    (exchange,) = api.get(f"/api/videos/{transcribed}/exchanges")["exchanges"]
    assert (exchange["label"], exchange["kind"]) == ("man_1", "manual")
    assert (exchange["start"], exchange["end"]) == pytest.approx((0.0, 3.8), abs=0.01)
    screenshot("details-transcript")


def test_the_player_docks_as_a_mini_player_while_its_place_is_scrolled_away(page, transcribed, screenshot):
    page.goto(f"/videos/{transcribed}")
    box = page.locator(".player-box")
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    expect(box).not_to_have_class(re.compile("docked"))  # paused: it stays in its place
    page.evaluate("const player = document.getElementById('player'); player.loop = true; player.play()")
    expect(box).to_have_class(re.compile("docked"))
    player = page.locator("#player").bounding_box()
    assert player["y"] + player["height"] <= 900 and player["width"] < 700, player  # in the corner, in view
    screenshot("details-mini-player", full_page=False)
    page.evaluate("window.scrollTo(0, 0)")  # its place back in view: back in its place, still playing
    expect(box).not_to_have_class(re.compile("docked"))
    assert not page.evaluate("document.getElementById('player').paused")
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    expect(box).to_have_class(re.compile("docked"))
    page.click(".mini-close")
    expect(box).not_to_have_class(re.compile("docked"))
    assert page.evaluate("document.getElementById('player').paused")


def test_a_manual_exchange_past_the_end_is_refused_with_the_reason(page, transcribed):
    page.goto(f"/videos/{transcribed}")
    page.fill("#manual-start", "0:01")
    page.fill("#manual-end", "9:00")
    page.click("#manual-add")
    expect(page.locator("#manual-result")).to_contain_text("beyond the end of the video")
    expect(page.locator("#manual-end")).to_have_value("9:00")


def test_an_unknown_video_is_a_404_page(page, screenshot):
    response = page.goto("/videos/987654")
    assert response.status == 404
    expect(page.locator("main")).to_contain_text("There is no video 987654")
    screenshot("not-found")


def test_a_manual_exchange_processed_right_away_shows_its_clips(page, transcribed, api, screenshot):
    page.goto(f"/videos/{transcribed}")
    expect(page.locator("#live-status")).to_have_attribute("data-status", "live")
    page.fill("#manual-start", "0")
    page.fill("#manual-end", "3.8")
    page.check("#manual-process")
    page.click("#manual-add")
    expect(page.locator("#manual-result")).to_contain_text("Added Manual Q&A ")

    row = page.locator("#exchanges tr[data-exchange-id]")
    for step in ("label_speakers", "define_clips", "cut_clips"):
        button = row.locator(f'.phase2-step[data-step="{step}"]')
        expect(button).to_have_attribute("data-state", "done", timeout=STEP_MS)
    clips = page.locator("#clips .clip-card")
    expect(clips.first).to_be_visible()
    expect(row.locator(".speakers-cell .speaker-chip")).to_have_count(2)  # learnt when its speakers were processed
    expect(clips.first.locator("video")).to_have_attribute("src", re.compile(r"/media/clips/\d+\.mp4\?v=\d+$"))
    for card in clips.all():  # every card shows a still of its clip before it plays
        expect(card.locator("video")).to_have_attribute("poster", re.compile(r"/media/clips/\d+\.jpg\?v=\d+$"))
    poster = clips.first.locator("video").get_attribute("poster")
    assert page.request.get(poster).headers["content-type"] == "image/jpeg"
    # Saved under a name that says what it is: <title>_QA-manual1_0m04s.mp4
    expect(clips.first.locator("a", has_text="MP4")).to_have_attribute(
        "download", re.compile(r"_QA-manual\d+_0m0\ds\.mp4$")
    )
    expect(clips.first.locator("a", has_text="SRT")).to_have_attribute(
        "download", re.compile(r"_QA-manual\d+_0m0\ds\.srt$")
    )

    # The clip really plays in Chromium: H.264/AAC with faststart, picture decoded, time advancing;
    # and only one thing plays at a time: the video stops when a clip starts.
    page.locator("#player").evaluate("video => { video.muted = true; return video.play(); }")
    page.wait_for_function("() => !document.getElementById('player').paused")
    clips.first.locator("video").evaluate("video => { video.muted = true; return video.play(); }")
    page.wait_for_function("() => document.getElementById('player').paused")
    page.wait_for_function(
        "() => { const v = document.querySelector('#clips .clip-card video');"
        " return v.currentTime > 0.5 && v.videoWidth > 0 && !v.error; }",
        timeout=20_000,
    )

    # Re-running a step from its button goes through the API and comes back done, live.
    row.locator('.phase2-step[data-step="cut_clips"]').click()

    def cut_again():
        (exchange,) = api.get(f"/api/videos/{transcribed}/exchanges")["exchanges"]
        cut = next(step for step in exchange["steps"] if step["name"] == "cut_clips")
        return cut["attempts"] >= 2 and cut["state"] == "done"

    wait_until(cut_again, timeout=STEP_MS / 1000, what="cut_clips to run again")
    expect(row.locator('.phase2-step[data-step="cut_clips"]')).to_have_attribute("data-state", "done")
    screenshot("details-clips")


def test_no_page_scrolls_sideways_on_a_phone_and_the_menu_folds(page, transcribed, api, media_site, screenshot):

    failing = api.submit(f"{media_site.base_url}/talk/not-there.m3u8")  # so the error log has a row
    assert api.wait_step(failing, "download")["state"] == "error"

    status, _body = api.call("POST", f"/api/videos/{transcribed}/exchanges", {"start": 0, "end": 3.8})
    assert status == 201
    page.set_viewport_size(PHONE)
    for path in ("/", f"/videos/{transcribed}", "/errors", "/clips"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width == PHONE["width"], f"{path} is {width} px wide on a {PHONE['width']} px phone"
        sideways = page.evaluate(
            "[...document.querySelectorAll('.table-responsive')]"
            ".filter(box => box.scrollWidth > box.clientWidth + 1).length"
        )
        assert sideways == 0, f"{path} has a table that scrolls sideways on a phone"
    logout = page.get_by_role("button", name="Log out")
    expect(logout).to_be_hidden()
    page.get_by_role("button", name="Menu").click()
    expect(logout).to_be_visible()
    expect(page.get_by_role("link", name="Error log")).to_be_visible()


def test_a_qa_and_then_the_video_are_deleted_from_the_details_page(page, transcribed, api):
    status, _body = api.call("POST", f"/api/videos/{transcribed}/exchanges", {"start": 0, "end": 3.8})
    assert status == 201
    page.goto(f"/videos/{transcribed}")
    page.on("dialog", lambda dialog: dialog.accept())
    row = page.locator("#exchanges tr[data-exchange-id]")
    expect(row).to_have_count(1)
    row.get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)
    assert api.get(f"/api/videos/{transcribed}/exchanges")["exchanges"] == []
    page.get_by_role("button", name="Delete video").click()
    page.wait_for_url(re.compile(r"/$"))
    assert api.call("GET", f"/api/videos/{transcribed}")[0] == 404


def test_the_clips_page_lists_every_clip_with_filters_and_a_zip_of_them_all(page, transcribed, api, screenshot):
    import io
    import zipfile

    exchange_id = cut_a_qa(api, transcribed)
    page.goto("/clips")
    cards = page.locator("#clips-library .clip-card:has(.recut), #clips-library .clip-card")
    expect(cards.first).to_be_visible()
    mine = page.locator("#clips-library > div").filter(has=page.locator(f'a[href="/videos/{transcribed}"]'))
    expect(mine.first.locator("video")).to_have_attribute("poster", re.compile(r"/media/clips/\d+\.jpg\?v=\d+$"))
    expect(mine.first.locator(".clip-heading")).to_contain_text("Manual Q&A")
    page.select_option("#filter-video", str(transcribed))
    page.wait_for_url(re.compile(rf"video={transcribed}"))
    shown = page.locator("#clips-library .clip-card")
    expect(shown).to_have_count(len(api.get(f"/api/exchanges/{exchange_id}")["clips"]))
    screenshot("clips")
    archive = page.request.get(page.locator("#download-all").get_attribute("href"))
    assert archive.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(archive.body())).namelist()
    assert names and all(re.search(r"_QA-manual\d+_.*_\d+\.(mp4|srt)$", name) for name in names), names


def test_a_qa_is_trimmed_word_by_word(page, transcribed, api):
    status, body = api.call("POST", f"/api/videos/{transcribed}/exchanges", {"start": 0, "end": 3.8})
    assert status == 201
    exchange_id = body["exchange"]["id"]
    page.goto(f"/videos/{transcribed}")
    row = page.locator(f'#exchanges tr[data-exchange-id="{exchange_id}"]')
    row.get_by_role("button", name=re.compile("^Edit Manual Q&A")).click()  # the clip editor (test_editing.py)
    page.get_by_role("button", name="start ›").click()
    page.get_by_role("button", name="‹ end").click()  # both nudges saved in one request, once they pause
    expect(page.locator("#editor-status")).to_contain_text("Saved: 0:00.2 – 0:03.5")
    expect(row.locator(".exchange-time .seek")).to_contain_text("0:00.2 – 0:03.5")
    trimmed = api.get(f"/api/exchanges/{exchange_id}")
    assert (trimmed["start"], trimmed["end"]) == pytest.approx((0.24, 3.54), abs=0.005)


def test_clips_are_cut_again_as_vertical_9_16_and_play(page, transcribed, api, screenshot):
    status, body = api.call("POST", f"/api/videos/{transcribed}/exchanges", {"start": 0, "end": 3.8, "process": True})
    assert status == 201
    exchange_id = body["exchange"]["id"]

    def cut_attempts() -> int:
        cut = next(s for s in api.get(f"/api/exchanges/{exchange_id}")["steps"] if s["name"] == "cut_clips")
        return cut["attempts"] if cut["state"] == "done" else 0

    wait_until(lambda: cut_attempts() >= 1, timeout=STEP_MS / 1000, what="the clips to be cut")
    page.goto(f"/videos/{transcribed}")
    video = page.locator(f'#clips section[data-exchange-id="{exchange_id}"] .clip-card video').first
    before = video.get_attribute("src")
    shape = page.locator(f'.clip-shape[data-exchange="{exchange_id}"]')
    shape.locator('select[name="shape"]').select_option("vertical")
    expect(shape.locator('select[name="framing"]')).to_have_value("follow")
    expect(shape.locator(".crop-x")).to_be_hidden()  # the crop follows the speaker: no place to choose
    shape.locator('select[name="captions"]').select_option("highlight")
    shape.get_by_role("button", name="Cut with these options").click()
    wait_until(lambda: cut_attempts() >= 2, timeout=STEP_MS / 1000, what="the vertical cut")
    cut = api.get(f"/api/exchanges/{exchange_id}")
    assert (cut["shape"], cut["framing"], cut["captions"]) == ("vertical", "follow", "highlight")
    assert all(clip["burned_captions"] for clip in cut["clips"]), "the captions are part of the picture"
    expect(video).not_to_have_attribute("src", before)  # the card follows the new cut live (a new URL version)
    page.reload()  # and after a reload it is the vertical clip that plays
    video.evaluate("v => { v.muted = true; return v.play(); }")
    selector = f'#clips section[data-exchange-id="{exchange_id}"] .clip-card video'
    page.wait_for_function(
        """selector => { const v = document.querySelector(selector);
        return v && v.currentTime > 0.3 && v.videoWidth > 0
          && Math.abs(v.videoWidth / v.videoHeight - 9 / 16) < 0.02; }""",
        arg=selector,
        timeout=20_000,
    )
    screenshot("details-vertical-clip")


def test_every_page_passes_axe_at_desktop_and_phone_sizes(page, transcribed, api, media_site):
    """Checked with a video that has a transcript, a Q&A and its clips, and one that failed, so axe sees
    every part of every page."""
    broken = api.submit(f"{media_site.base_url}/missing.m3u8")
    assert api.wait_step(broken, "download")["state"] == "error"
    cut_a_qa(api, transcribed)
    found = {}
    for size in (page.viewport_size, PHONE):
        page.set_viewport_size(size)
        for path in ("/", f"/videos/{transcribed}", "/clips", "/errors"):
            page.goto(path)
            page.wait_for_load_state("networkidle")
            found[f"{path} at {size['width']} px"] = accessibility_problems(page)
    assert not any(found.values()), "\n".join(f"{where}: {line}" for where, lines in found.items() for line in lines)
