"""A step's note: where its model ran ("on CUDA"), or, after a CUDA failure, why it ran on the CPU. Stored
on the step (migration 10, SQLite and PostgreSQL), sent with step events, in the API's step JSON and on the
video page's pipeline panel."""

from __future__ import annotations

import re

import store.engine
import store.steps
import store.videos
from operations import presenters, videos
from operations.step_service import StepService
from pipeline.gpu import DeviceUse

FALLBACK = DeviceUse("cpu", "Library libcublas.so.12 is not found or cannot be loaded")


def new_video(conn) -> int:
    with store.engine.transaction(conn):
        return videos.create_video(conn, videos.VideoRequest(url="https://example.org/v"))


def start(service: StepService, conn, video_id: int, name: str, task_id: str):
    step = store.steps.find_step(conn, video_id, name)
    store.steps.update_step(conn, step.id, state="queued", task_id=task_id)
    return service.begin(step.id, task_id)


def test_a_running_step_keeps_its_note_until_it_runs_again(conn):
    events = []
    service = StepService(conn, publish=events.append)
    video_id = new_video(conn)
    step = start(service, conn, video_id, "transcribe", "t-1")
    assert step.note is None

    assert service.note(step.id, FALLBACK.note, "t-1")
    sent = [event for event in events if event["type"] == "step"][-1]
    assert sent["note"] == f"ran on CPU: {FALLBACK.fallback}; see README (GPU host)" and sent["fallback"] is True
    assert not service.note(step.id, "on CUDA", "t-other"), "only the step's own task writes its note"

    service.finish(step.id, "t-1")
    (described,) = [
        s
        for s in presenters.describe(store.videos.get_video(conn, video_id), store.steps.steps_of(conn, [video_id]))[
            "steps"
        ]
        if s["name"] == "transcribe"
    ]
    assert described["state"] == "done" and described["note"] == FALLBACK.note and described["fallback"] is True

    again = start(service, conn, video_id, "transcribe", "t-2")
    assert again.note is None, "a new run says again where it runs"
    service.note(again.id, DeviceUse("cuda").note, "t-2")
    assert store.steps.get_step(conn, again.id).note == "on CUDA"
    assert [e for e in events if e["type"] == "step"][-1]["fallback"] is False


def test_the_panel_and_the_api_show_the_note(client, app_conn):
    video_id = new_video(app_conn)
    service = StepService(app_conn)
    transcribe = start(service, app_conn, video_id, "transcribe", "t-1")
    diarize = start(service, app_conn, video_id, "diarize", "t-2")
    service.note(transcribe.id, FALLBACK.note, "t-1")
    service.note(diarize.id, DeviceUse("cuda").note, "t-2")

    steps = {step["name"]: step for step in client.get(f"/api/videos/{video_id}").get_json()["steps"]}
    assert steps["transcribe"]["note"] == FALLBACK.note and steps["transcribe"]["fallback"] is True
    assert steps["diarize"]["note"] == "on CUDA" and steps["diarize"]["fallback"] is False
    assert steps["download"]["note"] is None

    html = client.get(f"/partials/videos/{video_id}/panel").get_data(as_text=True)
    warning = re.search(r'class="step-note small mt-1 text-warning-emphasis">([^<]*)<', html)
    assert warning and warning.group(1) == FALLBACK.note
    assert re.search(r'class="step-note small mt-1 text-body-secondary">on CUDA<', html)
    assert html.count("step-note small mt-1 text-body-secondary d-none") == 3, "steps without a note show none"
