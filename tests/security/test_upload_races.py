"""Chunked uploads under concurrent requests against a real waitress: the request that writes the last
byte finishes the upload, exactly once; every other request gets a 409 with the offset or a 404, never a
500, a second video or an empty file."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.support.common import TEST_API_TOKEN
from tests.support.media_factory import make_video

AUTH = {"Authorization": f"Bearer {TEST_API_TOKEN}"}
CHUNK = {**AUTH, "Content-Type": "application/offset+octet-stream"}


@pytest.fixture(scope="module")
def small_mp4(tmp_path_factory) -> bytes:
    return make_video(tmp_path_factory.mktemp("race") / "talk.mp4", 320, 240, duration=2).read_bytes()


class Api:
    """One keep-alive connection to the live server, as each racing client has its own."""

    def __init__(self, live):
        host, port = live.base_url.removeprefix("http://").split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=30)

    def call(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        self.connection.request(method, path, body, {**AUTH, **(headers or {})})
        response = self.connection.getresponse()
        text = response.read()
        try:
            return response.status, json.loads(text) if text else None
        except ValueError:
            return response.status, {"error": text[:200]}

    def start(self, size: int) -> str:
        body = json.dumps({"filename": "talk.mp4", "size": size}).encode()
        status, answer = self.call("POST", "/api/uploads", body, {"Content-Type": "application/json"})
        assert status == 201, answer
        return answer["id"]

    def patch(self, upload_id: str, offset: int, chunk: bytes):
        return self.call("PATCH", f"/api/uploads/{upload_id}", chunk, {**CHUNK, "Upload-Offset": str(offset)})

    def close(self) -> None:
        self.connection.close()


def race(workers: list) -> list[int]:
    """Run each worker (a function returning the statuses it saw) in its own thread; all the statuses."""
    statuses: list[int] = []
    lock = threading.Lock()

    def run(work) -> None:
        seen = work()
        with lock:
            statuses.extend(seen)

    threads = [threading.Thread(target=run, args=(work,)) for work in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return statuses


def test_empty_patches_at_the_end_racing_the_last_chunk_make_exactly_one_video(live, client, small_mp4):
    size = len(small_mp4)
    last = size - 1000
    for _round in range(3):
        api = Api(live)
        upload_id = api.start(size)
        assert api.patch(upload_id, 0, small_mp4[:last])[0] == 200
        finished = threading.Event()

        def last_chunk(api=api, upload_id=upload_id, finished=finished) -> list[int]:
            try:
                time.sleep(0.05)  # the empty PATCHes are already hammering
                status = api.patch(upload_id, last, small_mp4[last:])[0]
                time.sleep(0.05)
                return [status]
            finally:
                finished.set()
                api.close()

        def empty_at_the_end(upload_id=upload_id, finished=finished) -> list[int]:
            mine, seen, deadline = Api(live), [], time.monotonic() + 20
            while not finished.is_set() and time.monotonic() < deadline:
                seen.append(mine.patch(upload_id, size, b"")[0])
            mine.close()
            return seen

        statuses = Counter(race([last_chunk] + [empty_at_the_end] * 8))
        assert statuses[500] == 0, statuses
        assert statuses[201] == 1, f"one video per upload, not {statuses[201]}: {statuses}"
        assert set(statuses) <= {200, 201, 404, 409}, statuses

    videos = client.get("/api/videos?per_page=50").get_json()["videos"]
    assert len(videos) == 3
    for video in videos:
        assert Path(video["video_path"]).read_bytes() == small_mp4, "the stored file is the whole upload"


def test_the_last_chunk_sent_twice_at_once_makes_one_video(live, client, small_mp4):
    size = len(small_mp4)
    last = size - 1000
    api = Api(live)
    upload_id = api.start(size)
    assert api.patch(upload_id, 0, small_mp4[:last])[0] == 200
    barrier = threading.Barrier(8)

    def send_last() -> list[int]:
        mine = Api(live)
        barrier.wait()
        status = mine.patch(upload_id, last, small_mp4[last:])[0]
        mine.close()
        return [status]

    statuses = Counter(race([send_last] * 8))
    assert statuses[201] == 1 and statuses[500] == 0, statuses
    assert set(statuses) <= {201, 404, 409}, statuses
    (video,) = client.get("/api/videos").get_json()["videos"]
    assert Path(video["video_path"]).read_bytes() == small_mp4


def test_patches_racing_a_delete_get_a_404_or_409_never_a_500(live, settings_env):
    chunk = b"\0" * 65536
    statuses: Counter = Counter()
    for _round in range(15):
        api = Api(live)
        upload_id = api.start(len(chunk) * 1000)

        def keep_sending(upload_id=upload_id) -> list[int]:
            mine, seen, offset, deadline = Api(live), [], 0, time.monotonic() + 20
            while time.monotonic() < deadline:
                status, answer = mine.patch(upload_id, offset, chunk)
                seen.append(status)
                if status == 404 or status >= 500:
                    break
                offset = answer["offset"]
            mine.close()
            return seen

        def delete(api=api, upload_id=upload_id) -> list[int]:
            time.sleep(0.02)
            status = api.call("DELETE", f"/api/uploads/{upload_id}")[0]
            api.close()
            return [status]

        statuses.update(race([keep_sending] * 6 + [delete]))
    assert statuses[500] == 0, statuses
    assert set(statuses) <= {200, 204, 404, 409}, statuses
    spool = Path(settings_env["DATA_DIR"]) / "downloads" / ".uploads"
    assert not [p for p in spool.iterdir() if p.is_dir()], "every abandoned upload is gone"
