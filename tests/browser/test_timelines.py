"""Editing timelines and the source video from the pages, in a real browser at desktop and phone sizes:
the "Timeline" menu on a video's page and on a person's page downloads each format with sound through the
logged-in session, and "Download source video" saves the file under the very name the timelines reference."""

from __future__ import annotations

from pathlib import Path

import opentimelineio as otio
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, accessibility_problems
from tests.browser.test_library import interview
from tests.support.voices import voice

pytestmark = [pytest.mark.browser, pytest.mark.integration]

READERS = {"fcpxml": ("fcpx_xml", {}), "edl": ("cmx_3600", {"rate": 25}), "otio": ("otio_json", {})}


@pytest.fixture
def answered(downloaded, flask_app, api) -> tuple[int, int]:
    """The downloaded test video with one Q&A whose answerer is a person in the library: (video, person)."""
    interview(
        flask_app,
        downloaded,
        {"SPEAKER_00": voice(21), "SPEAKER_01": voice(22)},
        "What do you edit with?",
        "Whatever reads a timeline with its sound.",
    )
    status, body = api.call("PUT", f"/api/videos/{downloaded}/speakers/SPEAKER_01", {"name": "Edith Editor"})
    assert status == 200, body
    return downloaded, body["speaker"]["person"]["id"]


def saved(page, link) -> tuple[str, Path]:
    """What clicking the link saves: the name the browser gives the file, and the file."""
    with page.expect_download() as download:
        link.click()
    return download.value.suggested_filename, Path(download.value.path())


def read_back(name: str, path: Path) -> otio.schema.Timeline:
    adapter, options = READERS[name.rsplit(".", 1)[1]]
    return otio.adapters.read_from_string(path.read_text(), adapter, **options)


def open_timeline_menu(page):
    page.get_by_role("button", name="Timeline").click()
    menu = page.locator("#timeline-menu")
    expect(menu).to_be_visible()
    return menu


def check_timelines(page, stem: str) -> set[str]:
    """Each format from the menu: saved as `<stem>.<fmt>`, read back with picture and sound; the files it
    references."""
    referenced = set()
    for fmt, label in (("fcpxml", "FCPXML"), ("edl", "EDL"), ("otio", "OTIO")):
        name, path = saved(page, open_timeline_menu(page).get_by_role("link", name=label))
        assert name == f"{stem}.{fmt}"
        back = read_back(name, path)
        kinds = {track.kind for track in back.tracks}
        assert kinds == {"Video", "Audio"}, (fmt, kinds)
        assert all(len(list(track.find_clips())) == 1 for track in back.tracks), fmt
        if fmt != "edl":
            referenced |= {clip.media_reference.target_url for clip in back.find_clips()}
        else:
            referenced |= {line.split(": ", 1)[1] for line in path.read_text().splitlines() if "FROM CLIP:" in line}
    return referenced


def test_timelines_and_the_source_video_download_from_the_video_and_person_pages(page, answered, screenshot):
    video_id, person_id = answered
    for size in (DESKTOP, PHONE):
        page.set_viewport_size(size)
        page.goto(f"/videos/{video_id}")
        source = page.get_by_role("link", name="Download source video")
        expect(source).to_be_visible()
        source_name, source_file = saved(page, source)
        assert source_name.endswith(".mp4") and source_file.stat().st_size > 10_000
        page.locator("#exchanges-card").scroll_into_view_if_needed()
        expect(page.get_by_role("button", name="Timeline")).to_be_visible()
        assert check_timelines(page, source_name.removesuffix(".mp4")) == {source_name}  # relinks to it
        # every link answers the logged-in session with the file and its name (no token needed)
        for href in [
            source.get_attribute("href"),
            *(a.get_attribute("href") for a in page.locator("#timeline-menu a").all()),
        ]:
            response = page.request.get(href)
            assert response.status == 200, href
            assert response.headers["content-disposition"].startswith(f"attachment; filename={source_name[:-4]}.")

        page.goto(f"/people/{person_id}")
        expect(page.get_by_role("link", name="Download source video")).to_be_visible()
        expect(page.get_by_role("button", name="Timeline")).to_be_visible()
        person_source, _file = saved(page, page.get_by_role("link", name="Download source video"))
        assert person_source == source_name
        assert check_timelines(page, "Edith_Editor_answers") == {source_name}
        page.locator(".answer-pick").uncheck()  # nothing selected: no timeline to make
        expect(page.get_by_role("button", name="Timeline")).to_be_disabled()
        page.locator(".answer-pick").check()

    page.set_viewport_size(DESKTOP)
    page.goto(f"/videos/{video_id}")
    page.wait_for_load_state("networkidle")
    page.locator("#exchanges-card").scroll_into_view_if_needed()
    page.mouse.move(0, 0)
    page.get_by_role("button", name="Timeline").focus()
    page.keyboard.press("Enter")  # by keyboard too
    menu = page.locator("#timeline-menu")
    expect(menu).to_be_visible()
    page.wait_for_timeout(300)  # past the button's colour transition
    screenshot("details-timeline-menu")
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    expect(page.get_by_role("button", name="Timeline")).to_be_focused()
    page.goto(f"/people/{person_id}")
    page.get_by_role("button", name="Timeline").focus()
    page.keyboard.press("Enter")
    page.wait_for_timeout(300)
    screenshot("person-timeline-menu")
    page.mouse.click(5, 300)  # a click elsewhere closes it
    expect(page.locator("#timeline-menu")).to_be_hidden()


def test_the_timeline_menus_pass_axe_open_and_fit_a_phone(page, answered):
    video_id, person_id = answered
    found = {}
    for size in (DESKTOP, PHONE):
        page.set_viewport_size(size)
        for path in (f"/videos/{video_id}", f"/people/{person_id}"):
            page.goto(path)
            page.wait_for_load_state("networkidle")
            menu = open_timeline_menu(page)
            box, width = menu.bounding_box(), size["width"]
            assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"{path}: the menu leaves a {width} px screen"
            page.mouse.move(0, 0)
            page.wait_for_timeout(300)  # axe reads colours: not in the middle of the button's hover transition
            found[f"{path} at {width} px, menu open"] = accessibility_problems(page)
    assert not any(found.values()), "\n".join(f"{where}: {line}" for where, lines in found.items() for line in lines)
