"""A Q&A's framing (how a vertical or square crop moves: follow the speaker, fixed, split): stored, in its
JSON and on the page, refused with a clear 400 when unknown; crops placed by hand before it stay fixed."""

from __future__ import annotations

import store.engine
import store.exchanges
import store.schema
import store.videos
from operations.exchanges import create_exchange
from pipeline.types import Exchange
from store import migrations


def make_exchange(app, client) -> tuple[int, int]:
    video_id = client.post("/api/videos", json={"urls": ["https://example.org/framing"]}).get_json()["videos"][0]["id"]
    conn = store.engine.connect_to(app.config["SETTINGS"])
    try:
        with store.engine.transaction(conn):
            exchange_id = create_exchange(conn, video_id, "man_1", "manual", Exchange(0, 9, "Why?", "", ""))
    finally:
        conn.close()
    return video_id, exchange_id


def test_framing_is_stored_shown_and_checked(app, client):
    video_id, exchange_id = make_exchange(app, client)
    url = f"/api/exchanges/{exchange_id}"
    assert client.get(url).get_json()["framing"] == "follow", "the speaker is followed by default"
    changed = client.patch(url, json={"shape": "vertical", "framing": "split"}).get_json()
    assert (changed["shape"], changed["framing"]) == ("vertical", "split")
    for wrong in ("zoom", "", None, ["follow"]):
        response = client.patch(url, json={"framing": wrong})
        assert response.status_code == 400, wrong
        assert "framing must be one of follow, fixed, split" in response.get_json()["error"]
    listed = client.get(f"/api/videos/{video_id}/exchanges").get_json()["exchanges"]
    assert [item["framing"] for item in listed] == ["split"], "a refused change changes nothing"
    preview = client.get(f"{url}/preview.jpg?framing=zoom")
    assert preview.status_code == 400 and "framing must be one of" in preview.get_json()["error"]

    page = client.get(f"/videos/{video_id}").get_data(as_text=True)
    assert 'name="framing"' in page and '<option value="split" selected' in page
    assert 'class="form-range crop-x d-none"' in page, "the crop slider places a fixed crop only"
    client.patch(url, json={"framing": "fixed"})
    page = client.get(f"/videos/{video_id}").get_data(as_text=True)
    assert 'class="form-range crop-x"' in page


def test_crops_placed_by_hand_before_framing_stay_fixed(database_location, monkeypatch):
    before = next(index for index, step in enumerate(migrations.MIGRATIONS) if "framing" in str(step))
    monkeypatch.setattr(store.schema, "MIGRATIONS", migrations.MIGRATIONS[:before])
    conn = store.schema.open_database(database_location)
    with store.engine.transaction(conn):
        video_id = store.videos.insert_video(conn, url="https://example.org/v", resolution="720")
        placed = create_exchange(conn, video_id, "spkchg_1", "auto", Exchange(0, 9, "Why?", "A", "B"))
        centred = create_exchange(conn, video_id, "spkchg_2", "auto", Exchange(10, 19, "How?", "A", "B"))
        conn.execute("UPDATE exchanges SET shape = 'vertical', crop_x = 0.2 WHERE id = ?", (placed,))
    conn.close()
    monkeypatch.setattr(store.schema, "MIGRATIONS", migrations.MIGRATIONS)
    conn = store.schema.open_database(database_location)
    assert store.exchanges.get_exchange(conn, placed).framing == "fixed"
    assert store.exchanges.get_exchange(conn, centred).framing == "follow"
    conn.close()
