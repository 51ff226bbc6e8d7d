"""The look of a Q&A's clips chosen on the details page, with a preview the server draws as the cut
would, following every change before anything is cut or saved."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE


def test_the_preview_follows_the_chosen_look_before_cutting(page, transcribed, api, artifacts_dir):
    status, body = api.call("POST", f"/api/videos/{transcribed}/exchanges", {"start": 0, "end": 3.8})
    assert status == 201
    exchange_id = body["exchange"]["id"]
    for size, suffix in ((DESKTOP, ""), (PHONE, "-phone")):
        page.set_viewport_size(size)
        page.goto(f"/videos/{transcribed}")
        form = page.locator(f'.clip-shape[data-exchange="{exchange_id}"]')
        picture = form.locator(".clip-preview img")
        expect(form.locator(".clip-preview")).to_be_hidden()  # nothing drawn until asked for

        form.locator('select[name="shape"]').select_option("vertical")
        expect(picture).to_have_attribute("src", re.compile(r"shape=vertical"))
        expect(form).to_have_attribute("data-preview-state", "ready")
        assert picture.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [360, 640]
        expect(form.locator('input[name="caption_names"]')).not_to_be_checked()  # off by default in vertical

        framing, slider = form.locator('select[name="framing"]'), form.locator(".crop-x")
        note = form.locator(".preview-note")
        expect(framing).to_have_value("follow")
        expect(slider).to_be_hidden()  # a crop that follows the speaker is not placed by hand...
        expect(note).to_contain_text("the cut follows whoever speaks")  # ...and is found when cutting
        framing.select_option("fixed")
        expect(slider).to_be_visible()
        expect(picture).to_have_attribute("src", re.compile(r"framing=fixed"))
        expect(form).to_have_attribute("data-preview-state", "ready")
        expect(note).to_have_text("Preview of the clip's opening, as it will be cut.")
        framing.select_option("split")
        expect(slider).to_be_hidden()
        expect(picture).to_have_attribute("src", re.compile(r"framing=split"))
        expect(note).to_contain_text("stacks the two main speakers")
        form.locator('select[name="shape"]').select_option("original")
        expect(framing).to_be_hidden()  # nothing is cropped
        expect(slider).to_be_hidden()
        form.locator('select[name="shape"]').select_option("vertical")
        expect(framing).to_be_visible()

        shown = {}
        for style in ("highlight", "pop"):
            form.locator('select[name="captions"]').select_option(style)
            expect(picture).to_have_attribute("src", re.compile(rf"captions={style}"))
            expect(form).to_have_attribute("data-preview-state", "ready")
            shown[style] = page.request.get(picture.get_attribute("src")).body()
            form.screenshot(path=str(artifacts_dir / f"browser-clip-look-{style}{suffix}.png"))
        assert shown["highlight"] != shown["pop"], "the preview changed with the style"

        form.locator('select[name="caption_position"]').select_option("top")
        expect(picture).to_have_attribute("src", re.compile(r"caption_position=top"))
        expect(form).to_have_attribute("data-preview-state", "ready")
        form.screenshot(path=str(artifacts_dir / f"browser-clip-look-top{suffix}.png"))
        stored = api.get(f"/api/exchanges/{exchange_id}")
        assert (stored["shape"], stored["captions"], stored["framing"]) == ("original", None, "follow"), (
            "a preview saves nothing"
        )
