"""Editing that respects a person's time, in a real browser at 1440×900 and 390×844: one button for links
and files, status words that count one thing, time left from the start, a live error count, tables that
fit their cards, the Clips page's filters and zip, a person's page after a rename, and touch targets."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

import store.engine
import store.speakers
import store.steps
import store.transcripts
import store.videos
from tests.browser.conftest import DESKTOP, PHONE, SEGMENTS, accessibility_problems, cut_a_qa
from tests.support.media_factory import make_video

pytestmark = [pytest.mark.browser, pytest.mark.integration]

SIZES = (DESKTOP, PHONE)


def live(page) -> None:
    expect(page.locator("#live-status")).to_have_attribute("data-status", "live")


def at(page, size) -> str:
    page.set_viewport_size(size)
    return "phone" if size == PHONE else "desktop"


# ---- 5. one upload flow ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES, ids=("desktop", "phone"))
def test_one_button_adds_links_and_uploads_a_chosen_file_and_says_which(page, tmp_path, artifacts_dir, size):
    where = at(page, size)
    media = make_video(tmp_path / f"Town hall {where}.mp4", 640, 360, duration=2)
    page.goto("/")
    live(page)
    page.uncheck("#auto")
    button = page.locator("#submit-button")
    expect(button).to_have_text("Add videos")
    expect(page.locator("#upload-button")).to_have_count(0)  # no second button to find

    page.set_input_files("#upload-file", str(media))
    expect(button).to_have_text(f"Upload Town hall {where}.mp4")
    page.fill("#urls", "https://example.org/a\nhttps://example.org/b")
    expect(button).to_have_text(f"Add 2 videos and upload Town hall {where}.mp4")
    page.fill("#urls", "")
    expect(button).to_have_text(f"Upload Town hall {where}.mp4")
    page.screenshot(path=str(artifacts_dir / f"browser-upload-one-button-{where}.png"))

    button.click()
    result = page.locator("#submit-result")
    expect(result).to_contain_text("Added 1 upload")
    expect(result).not_to_contain_text("Paste at least one video link")
    video_id = int(result.locator("a").first.inner_text().lstrip("#"))
    row = page.locator(f'tr[data-video-id="{video_id}"]')
    expect(row.locator(".video-title")).to_have_text(f"Town hall {where}")
    expect(button).to_have_text("Add videos")  # the file was sent: nothing chosen any more


# ---- 7. status words and time left ----------------------------------------------------------------


def set_up(flask_app, action):
    conn = store.engine.connect_to(flask_app.config["SETTINGS"])
    try:
        with store.engine.transaction(conn):
            return action(conn)
    finally:
        conn.close()


def test_status_words_count_one_thing_and_time_left_shows_from_the_start(page, downloaded, flask_app, screenshot):
    """Not "running": the row says what runs, and a step at 0 % already has its time left from this
    install's usual speed (the default until it has measured its own)."""
    twenty_seconds_ago = (datetime.now(UTC) - timedelta(seconds=20)).isoformat()

    def running(conn):
        store.videos.update_video(conn, downloaded, duration=1800.0)  # half an hour: diarize usually takes 90 s
        for name, progress in (("audio", None), ("transcribe", 0.3), ("diarize", 0.0)):
            step = store.steps.find_step(conn, downloaded, name)
            if progress is None:
                store.steps.update_step(conn, step.id, state="done", progress=1.0)
            else:
                store.steps.update_step(
                    conn, step.id, state="running", progress=progress, started_at=twenty_seconds_ago
                )

    set_up(flask_app, running)
    try:
        page.goto("/")
        row = page.locator(f'tr[data-video-id="{downloaded}"]')
        expect(row.locator(".video-status")).to_have_text("transcribing · finding speakers")
        bar = row.locator('.step-progress[data-step="diarize"]')
        expect(bar).to_contain_text(re.compile(r"Find speakers 0% · about \d+ (s|min) left"))
        expect(row.locator('.step-progress[data-step="transcribe"]')).to_contain_text(re.compile(r"left"))
        row.scroll_into_view_if_needed()
        screenshot("dashboard-status-words")
        page.goto(f"/videos/{downloaded}")
        expect(page.locator("#video-status")).to_have_text("transcribing · finding speakers")
        diarize = page.locator('#control-panel .step-row[data-step="diarize"] .step-time')
        expect(diarize).to_contain_text(re.compile(r"running for .* · about \d+ (s|min) left"))
    finally:

        def finished(conn):
            for name in ("transcribe", "diarize"):
                store.steps.update_step(
                    conn, store.steps.find_step(conn, downloaded, name).id, state="done", progress=1.0
                )

        set_up(flask_app, finished)


# ---- 8. a live error count, tables that fit -------------------------------------------------------


def error_count(page) -> int:
    badge = page.locator("#error-count")
    return int(badge.inner_text()) if badge.count() else 0


@pytest.mark.parametrize("path", ["/", "/errors", "video"])
def test_the_navbar_error_count_follows_failures_and_deletions_live(page, api, media_site, downloaded, path):
    page.goto(f"/videos/{downloaded}" if path == "video" else path)
    live(page)
    before = error_count(page)
    failing = api.submit(f"{media_site.base_url}/missing-{path.strip('/') or 'home'}.m3u8")
    assert api.wait_step(failing, "download")["state"] == "error"
    expect(page.locator("#error-count")).to_have_text(str(before + 1))
    assert api.call("DELETE", f"/api/videos/{failing}")[0] == 204
    if before:
        expect(page.locator("#error-count")).to_have_text(str(before))
    else:
        expect(page.locator("#error-count")).to_have_count(0)


def test_no_table_is_wider_than_its_card_with_an_error_row(page, api, media_site, flask_app, artifacts_dir):
    failing = api.submit(f"{media_site.base_url}/missing-wide.m3u8")
    api.wait_step(failing, "download")
    long_error = "yt-dlp: HTTP Error 404 for " + "https://example.org/" + "a-very-long-path/" * 12 + ": check the link"

    def fail_loudly(conn):
        store.steps.update_step(conn, store.steps.find_step(conn, failing, "download").id, error=long_error)
        store.videos.update_video(conn, failing, title="A rather long title " * 6)

    set_up(flask_app, fail_loudly)
    try:
        for size in SIZES:
            where = at(page, size)
            for path in ("/", "/errors"):
                page.goto(path)
                page.wait_for_load_state("networkidle")
                spill = page.evaluate("""() => [...document.querySelectorAll('table')].map((table) => {
                    const card = table.closest('.card') || document.body;
                    return {width: table.getBoundingClientRect().width, card: card.clientWidth,
                            scroll: (table.closest('.table-responsive') || table).scrollWidth};
                  }).filter((t) => t.width > t.card + 1 || t.scroll > t.card + 1)""")
                assert not spill, f"{path} at {size['width']} px: a table is wider than its card: {spill}"
                assert page.evaluate("document.documentElement.scrollWidth") <= size["width"], (path, where)
                details = page.locator(f'tr[data-video-id="{failing}"] .action-cell a, tr[data-video-id="{failing}"] a')
                box = details.last.bounding_box()
                assert box and box["x"] + box["width"] <= size["width"], f"{path}: a link off screen at {where}"
            page.goto("/")
            page.locator(f'tr[data-video-id="{failing}"]').scroll_into_view_if_needed()
            page.screenshot(path=str(artifacts_dir / f"browser-dashboard-error-row-{where}.png"))
    finally:
        api.call("DELETE", f"/api/videos/{failing}")


# ---- 6. the Clips page ----------------------------------------------------------------------------


def transcribe_directly(flask_app, video_id: int) -> int:
    def given(conn):
        store.transcripts.replace_segments(conn, video_id, SEGMENTS)
        store.speakers.ensure_speakers(conn, video_id, ["SPEAKER_00", "SPEAKER_01"])
        for name in ("audio", "transcribe", "diarize"):
            store.steps.update_step(conn, store.steps.find_step(conn, video_id, name).id, state="done", progress=1.0)

    set_up(flask_app, given)
    return video_id


@pytest.fixture(scope="module")
def two_cut_videos(api, media_site, flask_app) -> tuple[int, int]:
    """Two videos with their Q&A cut, each with a "Speaker 1" and a "Speaker 2"; in the first, Speaker 2 is
    Rosalind Franklin of the speaker library."""
    videos = []
    for number in range(2):  # links of their own: other tests count on being first to add the plain one
        video_id = api.submit(f"{media_site.base_url}/talk/master.m3u8?everyday={number}", resolution="360")
        assert api.wait_step(video_id, "download")["state"] == "done"
        cut_a_qa(api, transcribe_directly(flask_app, video_id))
        videos.append(video_id)
    status, _ = api.call("PUT", f"/api/videos/{videos[0]}/speakers/SPEAKER_01", {"name": "Rosalind Franklin"})
    assert status == 200
    return videos[0], videos[1]


def test_clips_filter_by_person_and_by_video_at_once_and_the_zip_says_what_it_holds(page, two_cut_videos, api):
    first, second = two_cut_videos
    person = next(p for p in api.get("/api/people")["people"] if p["name"] == "Rosalind Franklin")
    page.goto("/clips")
    expect(page.get_by_role("button", name="Show")).to_have_count(0)  # the filters apply as they change
    who = page.get_by_label("Person")
    expect(who.locator("option", has_text="Speaker 1")).to_have_count(0)  # no mix of every video's "Speaker 1"
    who.select_option(label="Rosalind Franklin")
    page.wait_for_url(re.compile(rf"/clips\?.*person={person['id']}"))
    cards = page.locator("#clips-library .clip-card")
    expect(cards.first).to_be_visible()
    for video_link in cards.locator(".clip-video a").all():
        expect(video_link).to_have_attribute("href", f"/videos/{first}")
    download = page.locator("#download-all")
    expect(download).to_have_text(re.compile("Download these"))
    zipped = page.request.get(download.get_attribute("href"))
    assert zipped.ok
    assert "filename=Rosalind_Franklin_clips.zip" in zipped.headers["content-disposition"]
    shown = page.locator("#clips-library .clip-card").count()
    who.select_option(label="Anyone")
    expect(page.locator("#clips-library .clip-card")).not_to_have_count(shown)  # everyone's, at once

    page.goto("/clips")
    page.get_by_label("Video").select_option(str(second))
    page.wait_for_url(re.compile(rf"/clips\?video={second}"))
    speaker = page.get_by_label("Speaker in this video")
    expect(speaker.locator("option")).to_have_text(["Anyone", "Speaker 1", "Speaker 2"])
    speaker.select_option(label="Speaker 1")
    page.wait_for_url(re.compile(r"speaker=SPEAKER_00"))
    for video_link in page.locator("#clips-library .clip-video a").all():
        expect(video_link).to_have_attribute("href", f"/videos/{second}")
    zipped = page.request.get(page.locator("#download-all").get_attribute("href"))
    title = api.video(second)["title"]
    expected = re.sub(r"[^\w-]+", "_", f"Speaker 1 in {title}").strip("_")
    assert f"filename={expected}_clips.zip" in zipped.headers["content-disposition"]
    page.goto("/clips")
    assert (
        "filename=all_clips.zip"
        in page.request.get(page.locator("#download-all").get_attribute("href")).headers["content-disposition"]
    )


@pytest.mark.parametrize("size", SIZES, ids=("desktop", "phone"))
def test_each_clip_card_shows_its_video_whole_above_the_next_row(page, two_cut_videos, artifacts_dir, size):
    where = at(page, size)
    page.goto("/clips")
    cards = page.locator("#clips-library .clip-card")
    expect(cards.first).to_be_visible()
    boxes = page.evaluate("""() => [...document.querySelectorAll('#clips-library > div')].map((column) => {
        const card = column.querySelector('.clip-card').getBoundingClientRect();
        const name = column.querySelector('.clip-video').getBoundingClientRect();
        const column_box = column.getBoundingClientRect();
        return {top: column_box.top, bottom: column_box.bottom, card_bottom: card.bottom, name_bottom: name.bottom,
                name_height: name.height};
      })""")
    for box in boxes:
        assert box["name_bottom"] <= box["card_bottom"] + 0.5, f"the video's name leaves its card: {box}"
        assert box["card_bottom"] <= box["bottom"] + 0.5, f"the card overflows its column into the next row: {box}"
        assert box["name_height"] >= 16
    page.screenshot(path=str(artifacts_dir / f"browser-clips-cards-{where}.png"), full_page=True)


# ---- 8. a person's page after a rename; "play" ------------------------------------------------------


def test_a_persons_page_follows_a_rename_and_play_opens_the_apps_player(page, two_cut_videos, api, artifacts_dir):
    first, _second = two_cut_videos
    person = next(p for p in api.get("/api/people")["people"] if p["name"] == "Rosalind Franklin")
    page.goto(f"/people/{person['id']}")
    page.locator("#rename-person input[name=name]").fill("Rosalind E. Franklin")
    page.get_by_role("button", name="Rename").click()
    expect(page.locator("#person-feedback")).to_contain_text("Renamed to Rosalind E. Franklin")
    expect(page.locator("h1")).to_have_text("Rosalind E. Franklin")
    expect(page.get_by_role("heading", name="Every answer by Rosalind E. Franklin")).to_be_visible()
    expect(page).to_have_title(re.compile("^Rosalind E. Franklin"))
    assert "Rosalind Franklin" not in page.locator("main").inner_text().replace("Rosalind E. Franklin", "")

    play = page.locator(f'.play-answer[href^="/videos/{first}#t="]')
    expect(play).to_have_attribute("href", re.compile(rf"^/videos/{first}#t="))
    page.screenshot(path=str(artifacts_dir / "browser-person-after-rename.png"), full_page=True)
    play.click()
    page.wait_for_url(re.compile(rf"/videos/{first}#t="))
    expect(page.locator("#player")).to_be_visible()
    api.call("PATCH", f"/api/people/{person['id']}", {"name": "Rosalind Franklin"})


# ---- 9. the phone: titles that wrap, touch targets --------------------------------------------------

CONTROLS = """() => {
  const seen = [];
  const visible = (node) => {
    const box = node.getBoundingClientRect();
    const style = getComputedStyle(node);
    return box.width > 0 && box.height > 0 && style.visibility !== 'hidden' && !node.closest('.d-none, [hidden]');
  };
  const selector = 'button, a.btn, a.nav-link, a.page-link, a.dropdown-item, input:not([type=hidden]), select, '
                   + 'textarea, [role=button], summary';
  // a link alone in its block (not a link inside a sentence, which WCAG exempts) is a control too
  const alone = [...document.querySelectorAll('a[href]')].filter((link) =>
    link.parentElement.innerText.trim() === link.innerText.trim());
  for (const node of new Set([...document.querySelectorAll(selector), ...alone])) {
    if (!visible(node) || node.closest('video')) continue;
    const box = node.getBoundingClientRect();
    if (box.width < 43.5 || box.height < 43.5) {
      seen.push(`${node.tagName.toLowerCase()}${node.id ? '#' + node.id : ''}.${[...node.classList].join('.')}`
                + ` "${(node.innerText || node.value || node.getAttribute('aria-label') || '').trim().slice(0, 30)}"`
                + ` ${Math.round(box.width)}×${Math.round(box.height)}`);
    }
  }
  return seen;
}"""


def test_every_control_is_a_44_px_touch_target_on_a_phone(page, two_cut_videos, api, artifacts_dir):
    first, _second = two_cut_videos
    person = next(p for p in api.get("/api/people")["people"] if "Franklin" in p["name"])
    page.set_viewport_size(PHONE)
    small = {}
    pages = ("/", "/clips", "/people", f"/people/{person['id']}", "/search?q=answer", "/errors", f"/videos/{first}")
    for path in pages:
        page.goto(path)
        page.wait_for_load_state("networkidle")
        small[path] = page.evaluate(CONTROLS)
        name = re.sub(r"\W+", "-", path).strip("-") or "dashboard"
        page.screenshot(path=str(artifacts_dir / f"browser-touch-{name}-phone.png"), full_page=True)
    assert not any(small.values()), "\n".join(f"{path}: {item}" for path, items in small.items() for item in items)


def test_a_videos_title_wraps_on_a_line_of_its_own_on_a_phone(page, downloaded, flask_app, artifacts_dir):
    set_up(
        flask_app,
        lambda conn: store.videos.update_video(conn, downloaded, title="Quarterly community update and questions"),
    )
    for size in SIZES:
        where = at(page, size)
        page.goto(f"/videos/{downloaded}")
        title = page.locator("#video-title").bounding_box()
        status = page.locator("#video-status").bounding_box()
        lines = round(
            title["height"]
            / float(page.evaluate("parseFloat(getComputedStyle(document.getElementById('video-title')).lineHeight)"))
        )
        if size == PHONE:
            assert title["width"] >= 0.8 * (PHONE["width"] - 24), f"the title is squeezed: {title}"
            assert status["y"] >= title["y"] + title["height"] - 1, "the status goes under the title"
            assert lines <= 3, f"{lines} lines for a 40-character title"
        else:
            assert lines == 1 and abs(status["y"] - title["y"]) < 20, "beside the title on a wide screen"
        page.screenshot(path=str(artifacts_dir / f"browser-details-title-{where}.png"))


def test_the_changed_pages_pass_axe_at_both_sizes(page, two_cut_videos, api):
    first, _second = two_cut_videos
    person = next(p for p in api.get("/api/people")["people"] if "Franklin" in p["name"])
    found = {}
    for size in SIZES:
        page.set_viewport_size(size)
        for path in ("/", "/clips", f"/clips?video={first}", f"/people/{person['id']}", "/errors"):
            page.goto(path)
            page.wait_for_load_state("networkidle")
            found[f"{path} at {size['width']} px"] = accessibility_problems(page)
        # the details page is another change's; here, its heading and pipeline panel, which this one changed
        page.goto(f"/videos/{first}")
        page.wait_for_load_state("networkidle")
        results = Axe().run(page, context=[[".page-head"], ["#control-panel"]], options={"resultTypes": ["violations"]})
        found[f"/videos/{first} heading and panel at {size['width']} px"] = [
            f"{rule['id']}: {rule['help']}" for rule in results.response["violations"]
        ]
    assert not any(found.values()), "\n".join(f"{where}: {line}" for where, lines in found.items() for line in lines)
