"""The dashboard in a real browser: submit a link and watch it download live, form errors, upload, delete."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.support.media_factory import make_video

pytestmark = [pytest.mark.browser, pytest.mark.integration]

STEP_MS = 120_000

# Records every state any download badge shows, including rows swapped in later, so the test can
# tell that the badge moved through its states in place rather than appearing finished.
WATCH_BADGES = """() => {
  window.__seen = [];
  window.__noReload = true;
  const note = () => {
    for (const badge of document.querySelectorAll('#jobs .step-badge[data-step="download"]')) {
      window.__seen.push(badge.closest('tr').dataset.videoId + ':' + badge.dataset.state);
    }
  };
  new MutationObserver(note).observe(document.getElementById('jobs'),
    {subtree: true, childList: true, attributes: true, attributeFilter: ['data-state']});
}"""


def live(page) -> None:
    expect(page.locator("#live-status")).to_have_attribute("data-status", "live")


def test_a_submitted_link_downloads_with_live_badges(page, media_site, screenshot):
    page.goto("/")
    live(page)
    page.evaluate(WATCH_BADGES)
    page.fill("#urls", f"{media_site.base_url}/talk/master.m3u8?live=1")  # a link no fixture submits
    page.select_option("#resolution", "360")
    page.uncheck("#auto")
    page.click("#submit-button")

    result = page.locator("#submit-result")
    expect(result).to_contain_text("Added 1 video")
    video_id = int(result.locator("a").first.inner_text().lstrip("#"))
    expect(page.locator("#urls")).to_have_value("")
    row = page.locator(f'tr[data-video-id="{video_id}"]')
    expect(row.locator('.step-badge[data-step="download"]')).to_have_attribute("data-state", "done", timeout=STEP_MS)
    expect(row.locator(".video-status")).to_have_text("partial")
    expect(row).to_contain_text("0:04")  # the duration, filled in when the download finished
    expect(row.locator('.step-badge[data-step="audio"]')).to_have_attribute("data-state", "pending")

    assert page.evaluate("window.__noReload") is True, "the page must update without reloading"
    seen = [state.split(":")[1] for state in page.evaluate("window.__seen") if state.startswith(f"{video_id}:")]
    # The row came and turned done without a reload; with a warm worker the 4 s download can finish before
    # the row is first drawn, so the queued/running badges are not always there to see.
    assert seen and seen[-1] == "done", f"badge states seen: {seen}"
    screenshot("dashboard")


def test_form_errors_are_explained_and_the_text_is_kept(page, screenshot):
    page.goto("/")
    page.click("#submit-button")
    expect(page.locator("#submit-result")).to_contain_text("Paste at least one video link")

    typed = "not a link\nftp://example.org/talk.mp4"
    page.fill("#urls", typed)
    page.click("#submit-button")
    result = page.locator("#submit-result")
    expect(result).to_contain_text("2 links were not accepted")
    expect(result.locator("li")).to_have_count(2)
    expect(result).to_contain_text("ftp://example.org/talk.mp4")
    expect(page.locator("#urls")).to_have_value(typed)
    screenshot("dashboard-rejected")


def test_an_uploaded_file_becomes_a_video(page, tmp_path):
    media = make_video(tmp_path / "Board meeting.mp4", 640, 360, duration=2)
    page.goto("/")
    live(page)
    page.uncheck("#auto")
    page.set_input_files("#upload-file", str(media))
    expect(page.locator("#submit-button")).to_have_text("Upload Board meeting.mp4")  # one button, saying what it does
    page.click("#submit-button")
    result = page.locator("#submit-result")
    expect(result).to_contain_text("Added 1 upload")
    video_id = int(result.locator("a").first.inner_text().lstrip("#"))
    row = page.locator(f'tr[data-video-id="{video_id}"]')
    expect(row.locator(".video-title")).to_have_text("Board meeting")
    expect(row.locator('.step-badge[data-step="download"]')).to_have_attribute("data-state", "done")


def test_deleting_selected_videos_asks_first(page, api, media_site):
    video_id = api.submit(f"{media_site.base_url}/gone-{id(page)}.m3u8")
    api.wait_step(video_id, "download")
    page.goto("/")
    live(page)
    row = page.locator(f'tr[data-video-id="{video_id}"]')
    row.locator(".select-video").check()
    expect(page.locator("#delete-selected")).to_have_text(re.compile(r"Delete selected \(1\)"))

    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("#delete-selected")
    expect(row).to_be_visible()
    assert api.call("GET", f"/api/videos/{video_id}")[0] == 200, "cancelling the dialog keeps the video"

    messages = []
    page.once("dialog", lambda dialog: (messages.append(dialog.message), dialog.accept()))
    page.click("#delete-selected")
    expect(row).to_have_count(0)
    expect(page.locator("#submit-result")).to_contain_text("Deleted 1 video")
    assert "cannot be undone" in messages[0]
    assert api.call("GET", f"/api/videos/{video_id}")[0] == 404


def test_clips_are_on_by_default_and_the_last_options_are_remembered(page):
    page.goto("/")
    expect(page.locator("#auto")).to_be_checked()
    expect(page.locator("#clips")).to_be_checked()
    page.select_option("#resolution", "720")
    page.uncheck("#clips")
    page.fill("#num-speakers", "3")
    page.locator("#num-speakers").dispatch_event("change")
    page.reload()
    expect(page.locator("#resolution")).to_have_value("720")
    expect(page.locator("#clips")).not_to_be_checked()
    expect(page.locator("#auto")).to_be_checked()
    expect(page.locator("#num-speakers")).to_have_value("3")


def test_a_link_already_in_the_library_warns_links_to_it_and_can_be_processed_again(page, api, media_site):
    link = f"{media_site.base_url}/talk/master.m3u8?again=1"  # a link no other test submits
    status, body = api.call("POST", "/api/videos", {"urls": [link]})
    assert status == 201
    first = body["videos"][0]["id"]
    page.goto("/")
    page.uncheck("#auto")
    page.fill("#urls", link)
    page.click("#submit-button")
    result = page.locator("#submit-result")
    expect(result).to_contain_text("Already in the library")
    expect(result.get_by_role("link", name=f"#{first}")).to_have_attribute("href", f"/videos/{first}")

    def copies() -> list[int]:
        return [video["id"] for video in api.get("/api/videos?per_page=200")["videos"] if video["url"] == link]

    assert copies() == [first], "nothing was added silently"
    result.get_by_role("button", name="Process again").click()
    expect(result).to_contain_text("Added 1 video")
    assert len(copies()) == 2
