"""The error log in a real browser: a failed download is listed with its reason and can be retried."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.common import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_a_failed_download_is_on_the_error_log_and_can_be_retried(page, api, media_site, screenshot):
    video_id = api.submit(f"{media_site.base_url}/missing-talk.m3u8")
    failed = api.wait_step(video_id, "download")
    assert failed["state"] == "error"

    page.goto("/errors")
    expect(page.locator("#live-status")).to_have_attribute("data-status", "live")
    row = page.locator(f'tr[data-step-id="{failed["id"]}"]')
    expect(row).to_contain_text("was not found (HTTP 404)")
    expect(row).to_contain_text("check the link")
    expect(row.locator("a")).to_have_attribute("href", f"/videos/{video_id}")
    screenshot("errors")

    row.locator(".retry").click()
    wait_until(lambda: api.step(video_id, "download")["attempts"] >= 2, timeout=120, what="the retried download")
    api.wait_step(video_id, "download")
    expect(page.locator(f'tr[data-step-id="{failed["id"]}"] .step-state')).to_have_text("error", timeout=30_000)
    expect(page.locator(f'tr[data-step-id="{failed["id"]}"]')).to_contain_text("2 attempts")


def test_a_wrong_link_is_corrected_on_the_error_log_then_retried(page, api, media_site):
    video_id = api.submit(f"{media_site.base_url}/talk/mistyped.m3u8")
    failed = api.wait_step(video_id, "download")
    assert failed["state"] == "error"
    page.goto("/errors")
    row = page.locator(f'tr[data-step-id="{failed["id"]}"]')
    row.get_by_label("Link of the video").fill("ftp://example.org/nope")
    row.get_by_role("button", name="Save link").click()
    expect(row.locator(".retry-result")).to_contain_text("url:")  # refused with the reason; nothing changed
    row.get_by_label("Link of the video").fill(f"{media_site.base_url}/talk/master.m3u8?fixed=1")
    row.get_by_role("button", name="Save link").click()
    expect(row.locator(".retry-result")).to_contain_text("Link saved")
    row.locator(".retry").click()
    wait_until(lambda: api.step(video_id, "download")["state"] == "done", timeout=120, what="the corrected download")
    assert api.video(video_id)["url"].endswith("/talk/master.m3u8?fixed=1")
