import store.engine
import store.steps
import store.videos
from tests.support.common import AUTH_ENV


def submit(client, urls, **options):
    return client.post("/api/videos", json={"urls": urls, **options})


def test_submission_creates_videos_and_queues_downloads(client, app, redis_client):
    response = submit(client, ["https://example.org/a", "https://example.org/b"], resolution="720")
    assert response.status_code == 201
    body = response.get_json()
    assert [video["url"] for video in body["videos"]] == ["https://example.org/a", "https://example.org/b"]
    assert body["rejected"] == []
    video = client.get(f"/api/videos/{body['videos'][0]['id']}").get_json()
    assert video["resolution"] == "720" and video["auto"] is False
    states = {step["name"]: step["state"] for step in video["steps"]}
    assert states == {
        "download": "queued",
        "audio": "pending",
        "transcribe": "pending",
        "diarize": "pending",
        "exchanges": "pending",
        "translate": "pending",
    }
    assert video["status"] == "queued"
    assert redis_client.llen("io") == 2, "one download task per video on the io queue"


def test_bad_urls_are_rejected_and_make_no_rows(client, app):
    bad = ["file:///etc/passwd", "ftp://example.org/x", "javascript:alert(1)", "", "not a url", "http://"]
    response = submit(client, [*bad, "https://example.org/ok"])
    assert response.status_code == 201
    body = response.get_json()
    assert len(body["videos"]) == 1
    assert [item["url"] for item in body["rejected"]] == bad
    assert all(item["error"] for item in body["rejected"])
    with app.app_context():
        from routes import get_db

        assert store.videos.count_videos(get_db()) == 1


def test_all_bad_is_a_400_with_reasons(client):
    response = submit(client, ["file:///etc/passwd"])
    assert response.status_code == 400
    assert "unsupported scheme" in response.get_json()["rejected"][0]["error"]
    assert client.get("/api/videos").get_json()["total"] == 0


def test_text_with_blank_lines_is_split(client):
    response = client.post("/api/videos", json={"urls": "https://example.org/a\n\n  \nhttps://example.org/b\n"})
    assert response.status_code == 201 and len(response.get_json()["videos"]) == 2


def test_bad_options_are_refused(client):
    assert submit(client, ["https://example.org/a"], resolution="4k").status_code == 400
    assert submit(client, ["https://example.org/a"], min_speakers=4, max_speakers=2).status_code == 400
    assert client.post("/api/videos", data="nope").status_code == 400
    assert client.post("/api/videos", json={"urls": []}).status_code == 400


def test_too_many_urls_are_refused_with_the_limit(client, settings_env):
    urls = [f"https://example.org/{n}" for n in range(501)]
    response = submit(client, urls)
    assert response.status_code == 400
    assert "at most 500" in response.get_json()["error"]


def test_step_without_prerequisites_is_409_with_reason(client):
    video_id = submit(client, ["https://example.org/a"]).get_json()["videos"][0]["id"]
    response = client.post(f"/api/videos/{video_id}/steps/transcribe")
    assert response.status_code == 409
    assert response.get_json()["error"] == "transcribe cannot run yet: audio is pending. Run those first."


def test_trigger_twice_runs_once(client, redis_client):
    video_id = submit(client, ["https://example.org/a"]).get_json()["videos"][0]["id"]
    first = client.post(f"/api/videos/{video_id}/steps/download")
    assert first.status_code == 202
    assert first.get_json()["step"]["state"] == "queued"
    assert redis_client.llen("io") == 1


def test_unknown_video_and_step_are_404(client):
    assert client.get("/api/videos/999").status_code == 404
    assert client.post("/api/videos/999/steps/download").status_code == 404
    video_id = submit(client, ["https://example.org/a"]).get_json()["videos"][0]["id"]
    response = client.post(f"/api/videos/{video_id}/steps/dance")
    assert response.status_code == 404 and "unknown step" in response.get_json()["error"]
    assert client.get("/videos/999").status_code == 404


def test_delete_removes_rows_and_files(client, app):
    video_id = submit(client, ["https://example.org/a"]).get_json()["videos"][0]["id"]
    folder = app.config["SETTINGS"].download_dir / str(video_id)
    folder.mkdir(parents=True)
    (folder / "video.mp4").write_bytes(b"x")
    assert client.delete(f"/api/videos/{video_id}").status_code == 204
    assert client.get(f"/api/videos/{video_id}").status_code == 404
    assert not folder.exists()
    assert client.delete(f"/api/videos/{video_id}").status_code == 404


def test_listing_is_paginated_newest_first(client):
    for n in range(5):
        submit(client, [f"https://example.org/{n}"])
    body = client.get("/api/videos?per_page=2&page=2").get_json()
    assert body["total"] == 5 and body["page"] == 2
    assert [video["url"] for video in body["videos"]] == ["https://example.org/2", "https://example.org/1"]


def test_queue_down_leaves_no_half_made_video(tmp_path):
    from app import create_app

    app = create_app(
        {"DATA_DIR": str(tmp_path), "FLASK_SECRET_KEY": "k", "CELERY_BROKER_URL": "redis://127.0.0.1:1/0", **AUTH_ENV}
    )
    client = app.test_client()
    response = submit(client, ["https://example.org/a"])
    assert response.status_code == 503
    assert "queue unavailable" in response.get_json()["error"]
    assert client.get("/api/videos").get_json()["total"] == 0


def test_dashboard_lists_videos_escaped(client):
    submit(client, ["https://example.org/<script>alert(1)</script>"])
    page = client.get("/")
    assert page.status_code == 200
    assert b"<script>alert(1)</script>" not in page.data
    assert b"&lt;script&gt;" in page.data


def test_two_hundred_urls_are_accepted_in_one_go(client, redis_client):
    urls = [f"https://www.youtube.com/watch?v=video{n:03d}" for n in range(200)]
    response = submit(client, urls, resolution="480")
    assert response.status_code == 201
    assert len(response.get_json()["videos"]) == 200 and response.get_json()["rejected"] == []
    assert client.get("/api/videos").get_json()["total"] == 200
    assert redis_client.llen("io") == 200


def test_a_link_already_in_the_library_is_not_added_again_unless_asked(client):
    first = submit(client, ["https://example.org/same"]).get_json()["videos"][0]["id"]
    again = submit(client, ["https://example.org/same", "https://example.org/new"])
    body = again.get_json()
    assert again.status_code == 201 and [video["url"] for video in body["videos"]] == ["https://example.org/new"]
    assert body["existing"] == [{"url": "https://example.org/same", "video_id": first}]
    only_old = submit(client, ["https://example.org/same"])
    assert only_old.status_code == 200 and only_old.get_json()["videos"] == []
    forced = submit(client, ["https://example.org/same"], again=True)
    assert forced.status_code == 201 and forced.get_json()["videos"][0]["id"] != first
    copy = client.post(f"/api/videos/{first}/again", json={"resolution": "360"})
    assert copy.status_code == 201
    assert client.get(f"/api/videos/{copy.get_json()['video']['id']}").get_json()["resolution"] == "360"


def test_a_queued_step_of_either_phase_can_be_cancelled_once(client, app):
    from operations.exchanges import create_exchange
    from pipeline.types import Exchange

    video_id = submit(client, ["https://example.org/cancel-me"]).get_json()["videos"][0]["id"]
    assert client.post(f"/api/videos/{video_id}/steps/download/cancel").get_json()["step"]["state"] == "pending"
    assert client.post(f"/api/videos/{video_id}/steps/download/cancel").status_code == 409
    conn = store.engine.connect_to(app.config["SETTINGS"])
    try:
        for step in store.steps.steps_of(conn, [video_id]):
            store.steps.update_step(conn, step.id, state="done", progress=1.0)
        with store.engine.transaction(conn):
            exchange_id = create_exchange(conn, video_id, "man_1", "manual", Exchange(0, 9, "Why?", "", ""))
    finally:
        conn.close()
    assert client.post(f"/api/exchanges/{exchange_id}/steps/label_speakers").status_code == 202
    cancelled = client.post(f"/api/exchanges/{exchange_id}/steps/label_speakers/cancel")
    assert cancelled.status_code == 200 and cancelled.get_json()["step"]["state"] == "pending"
    assert client.post(f"/api/exchanges/{exchange_id}/steps/nope/cancel").status_code == 404
