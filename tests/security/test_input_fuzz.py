"""No request body, id or query makes the API answer 500, and every /api answer is JSON (Hypothesis).

Booleans must be JSON booleans and numbers numbers in range: "false" is not taken as true, and a
refused request changes nothing.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import store.engine
import store.exchanges
import store.videos

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Values known to have broken naive parsers ("²".isdigit() is True; int() then fails) come up often.
tricky = st.sampled_from(["²", "٣", "1e999", "99999999999999999999999", "false", "", " ", "\x00", 10**30, -1])
scalars = st.none() | st.booleans() | st.integers(-(2**80), 2**80) | st.floats() | st.text(max_size=30) | tricky
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
known_keys = st.sampled_from(
    [
        "urls",
        "auto",
        "clips",
        "resolution",
        "num_speakers",
        "min_speakers",
        "max_speakers",
        "start",
        "end",
        "process",
        "name",
        "captions",
        "burn_subtitles",
        "filename",
        "size",
    ]
)
bodies = json_values | st.dictionaries(known_keys, json_values, max_size=6)
ids = st.integers(-(2**70), 2**70).map(str) | st.text(alphabet="0123456789²٣x-", min_size=1, max_size=25)


def assert_answered(response) -> None:
    assert response.status_code != 500, response.get_data(as_text=True)[:300]
    assert response.status_code < 500 or response.status_code == 503
    if response.request.path.startswith("/api/"):
        assert response.is_json, response.get_data(as_text=True)[:200]


@pytest.fixture
def video_id(client) -> int:
    return client.post("/api/videos", json={"urls": ["https://example.org/fuzz"]}).get_json()["videos"][0]["id"]


def _raw(client, method: str, path: str, body) -> object:
    return client.open(path, method=method, data=json.dumps(body, allow_nan=True), content_type="application/json")


@FUZZ
@given(body=bodies)
def test_submissions_never_fail_with_500(client, body):
    assert_answered(_raw(client, "POST", "/api/videos", body))


@FUZZ
@given(body=bodies, which=st.sampled_from(["exchanges", "speakers/SPEAKER_00"]))
def test_video_bodies_never_fail_with_500(client, video_id, body, which):
    method = "PUT" if which.startswith("speakers") else "POST"
    assert_answered(_raw(client, method, f"/api/videos/{video_id}/{which}", body))


@FUZZ
@given(body=bodies, step=st.sampled_from(["label_speakers", "define_clips", "cut_clips", "nope"]))
def test_exchange_step_bodies_never_fail_with_500(client, body, step):
    assert_answered(_raw(client, "POST", f"/api/exchanges/1/steps/{step}", body))


@FUZZ
@given(body=bodies, offset=st.text(max_size=25), chunk=st.binary(max_size=64))
def test_upload_requests_never_fail_with_500(client, body, offset, chunk):
    started = _raw(client, "POST", "/api/uploads", body)
    assert_answered(started)
    upload_id = started.get_json().get("id", "x" * 30) if started.status_code == 201 else "x" * 30
    headers = {"Upload-Offset": offset} if offset.isascii() and "\n" not in offset and "\r" not in offset else {}
    assert_answered(client.patch(f"/api/uploads/{upload_id}", data=chunk, headers=headers))


@FUZZ
@given(
    identifier=ids,
    path=st.sampled_from(
        [
            "/api/videos/{}",
            "/api/videos/{}/transcript",
            "/api/videos/{}/exchanges",
            "/api/exchanges/{}/clips",
            "/api/videos/{}/speakers",
            "/api/uploads/{}",
            "/media/videos/{}",
            "/media/clips/{}.mp4",
            "/videos/{}",
        ]
    ),
    method=st.sampled_from(["GET", "DELETE", "POST"]),
)
def test_ids_never_fail_with_500(client, identifier, path, method):
    response = client.open(path.format(identifier), method=method)
    assert response.status_code != 500
    if path.startswith("/api/"):
        assert response.is_json


printable = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=25)


@FUZZ
@given(page=st.text(max_size=25), per_page=st.text(max_size=25), video=st.text(max_size=25), last_id=printable)
def test_queries_never_fail_with_500(client, page, per_page, video, last_id):
    assert_answered(client.get("/api/videos", query_string={"page": page, "per_page": per_page}))
    assert client.get("/", query_string={"page": page}).status_code != 500
    header = {"Last-Event-ID": last_id.encode("ascii", "replace").decode()}
    stream = client.get("/events", query_string={"video": video}, headers=header, buffered=False)
    assert stream.status_code != 500
    stream.close()


@pytest.mark.parametrize("key", ["auto", "clips"])
@pytest.mark.parametrize("value", ["false", "true", 0, 1, "", [], {}])
def test_booleans_must_be_json_booleans(client, key, value):
    response = client.post("/api/videos", json={"urls": ["https://example.org/a"], key: value})
    assert response.status_code == 400 and key in response.get_json()["error"]
    assert client.get("/api/videos").get_json()["total"] == 0


def test_process_must_be_a_boolean(client, video_id):
    response = client.post(f"/api/videos/{video_id}/exchanges", json={"start": 0, "end": 5, "process": "false"})
    assert response.status_code == 400 and "process" in response.get_json()["error"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"captions": "loud"}, "captions"),
        ({"captions": True}, "captions"),
        ({"captions": ["pop"]}, "captions"),
        ({"burn_subtitles": "false"}, "burn_subtitles"),
        ({"captions": "pop", "burn_subtitles": True}, "captions"),
    ],
)
def test_a_refused_cut_does_not_store_its_captions(app, client, video_id, body, field):
    conn = store.engine.connect_to(app.config["SETTINGS"])
    with store.engine.transaction(conn):
        store.videos.update_video(conn, video_id, duration=60.0)
    created = client.post(f"/api/videos/{video_id}/exchanges", json={"start": 0, "end": 5})
    exchange_id = created.get_json()["exchange"]["id"]
    wrong = client.post(f"/api/exchanges/{exchange_id}/steps/cut_clips", json=body)
    assert wrong.status_code == 400 and field in wrong.get_json()["error"]
    for asked in ({"captions": "pop"}, {"burn_subtitles": True}):
        blocked = client.post(f"/api/exchanges/{exchange_id}/steps/cut_clips", json=asked)
        assert blocked.status_code == 409, "define_clips has not run"
    assert client.get(f"/api/exchanges/{exchange_id}").get_json()["captions"] is None, (
        "a refused request changes nothing"
    )
    conn.close()


@pytest.mark.parametrize("count", ["²", "٣", "3.0", "-1", "51", True, 2.5, [2]])
def test_speaker_counts_must_be_whole_numbers_in_range(client, count):
    response = client.post("/api/videos", json={"urls": ["https://example.org/a"], "num_speakers": count})
    assert response.status_code == 400 and "num_speakers" in response.get_json()["error"]


@pytest.mark.parametrize("body", ["[1, 2]", '"just text"', "42", "null", "{bad json"])
def test_bodies_that_are_not_objects_are_400_json(client, body):
    response = client.post("/api/videos", data=body, content_type="application/json")
    assert response.status_code == 400 and response.is_json


HUGE = "9" * 30  # beyond SQLite's 64-bit integers (and PostgreSQL's)


@pytest.mark.parametrize("name", ["person", "video"])
@pytest.mark.parametrize("value", [HUGE, str(2**63), str(2**63 - 1), "-1", "²", "٣"])
def test_api_search_refuses_ids_beyond_the_database(client, name, value):
    response = client.get("/api/search", query_string={"q": "the", name: value})
    assert response.status_code in (200, 400) and response.is_json
    if response.status_code == 400:
        assert name in response.get_json()["error"]
    if value in (HUGE, str(2**63)):
        assert response.status_code == 400


@pytest.mark.parametrize("name", ["person", "video"])
def test_search_page_says_what_is_wrong_with_a_huge_id(client, name):
    response = client.get("/search", query_string={"q": "the", name: HUGE})
    assert response.status_code in (200, 400)
    assert f"{name} must be an id".encode() in response.data


@pytest.mark.parametrize("path", ["/clips", "/clips/download.zip"])
@pytest.mark.parametrize("value", [HUGE, str(2**63), "-" + HUGE])
def test_clip_filters_refuse_ids_beyond_the_database(client, path, value):
    response = client.get(path, query_string={"video": value})
    assert response.status_code in (200, 400, 404), response.get_data(as_text=True)[:300]


@pytest.mark.parametrize(
    "path", [f"/api/videos/{HUGE}", f"/api/people/{HUGE}", f"/api/exchanges/{HUGE}/clips", f"/videos/{HUGE}"]
)
def test_path_ids_beyond_the_database_are_not_found(client, path):
    assert client.get(path).status_code == 404


@FUZZ
@given(person=st.text(max_size=40) | st.integers(-(2**80), 2**80).map(str), video=ids)
def test_search_filters_never_fail_with_500(client, person, video):
    filters = {"q": "the", "person": person, "video": video}
    assert_answered(client.get("/api/search", query_string=filters))
    assert client.get("/search", query_string=filters).status_code != 500
    assert client.get("/clips", query_string={"video": video}).status_code != 500
    assert client.get("/clips/download.zip", query_string={"video": video}).status_code != 500


def test_ids_past_32_bits_filter_to_nothing_on_postgresql(settings_env, redis_client, postgres):
    """PostgreSQL's id columns are 32-bit INTEGER: larger ids (up to SQLite's 64 bits) simply find nothing."""
    from app import create_app

    client = create_app({**settings_env, "DATABASE_URL": postgres.new_database()}).test_client()
    for value in (str(2**31), str(2**63 - 1)):
        for name in ("person", "video"):
            found = client.get("/api/search", query_string={"q": "the", name: value})
            assert found.status_code == 200 and found.get_json()["hits"] == []
        assert client.get("/search", query_string={"q": "the", "video": value}).status_code == 200
        assert client.get("/clips", query_string={"video": value}).status_code == 200
        assert client.get("/clips/download.zip", query_string={"video": value}).status_code == 404
        assert client.get(f"/api/videos/{value}").status_code == 404
    assert client.get("/api/search", query_string={"q": "the", "video": HUGE}).status_code == 400
