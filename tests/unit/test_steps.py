import threading
from types import SimpleNamespace

import pytest

import store.clips
import store.engine
import store.exchanges
import store.steps
import store.videos
from operations import presenters, status_words, steps, videos
from operations.step_service import StepService
from operations.steps import StepBlocked


@pytest.fixture
def sent():
    return []


@pytest.fixture
def events():
    return []


@pytest.fixture
def service(conn, sent, events):
    return StepService(conn, publish=events.append, enqueue=sent.append)


def new_video(conn, wants_whole_pipeline=False) -> int:
    with store.engine.transaction(conn):
        return videos.create_video(
            conn, videos.VideoRequest(url="https://example.org/v", wants_whole_pipeline=wants_whole_pipeline)
        )


def run_to_done(service, video_id, name):
    step = service.request(video_id, name)
    service.begin(step.id, step.task_id)
    return service.finish(step.id)


def test_new_video_has_every_phase1_step_pending(conn):
    video_id = new_video(conn)
    rows = store.steps.steps_of(conn, [video_id])
    assert sorted(row.name for row in rows) == sorted(steps.PHASE1_STEPS)
    assert {row.state for row in rows} == {"pending"}
    assert steps.video_status(rows) == "pending"


def test_request_queues_and_enqueues_once(service, conn, sent):
    video_id = new_video(conn)
    step = service.request(video_id, "download")
    assert step.state == "queued" and step.task_id
    again = service.request(video_id, "download")
    assert again.task_id == step.task_id
    assert len(sent) == 1, "a duplicate trigger must collapse into the queued run"


def test_duplicate_trigger_while_running_collapses(service, conn, sent):
    video_id = new_video(conn)
    step = service.request(video_id, "download")
    service.begin(step.id, step.task_id)
    assert service.request(video_id, "download").state == "running"
    assert len(sent) == 1


def test_missing_prerequisite_is_refused_with_reason(service, conn, sent):
    video_id = new_video(conn)
    with pytest.raises(StepBlocked, match="transcribe cannot run yet: audio is pending"):
        service.request(video_id, "transcribe")
    assert sent == []
    assert store.steps.find_step(conn, video_id, "transcribe").state == "pending"


def test_lifecycle_records_attempts_progress_and_times(service, conn, events):
    video_id = new_video(conn)
    step = service.request(video_id, "download")
    running = service.begin(step.id, step.task_id)
    assert running.state == "running" and running.attempts == 1 and running.started_at
    assert service.progress(step.id, 0.4)
    assert store.steps.get_step(conn, step.id).progress == pytest.approx(0.4)
    done = service.finish(step.id)
    assert done.state == "done" and done.progress == 1.0 and done.finished_at >= done.started_at
    assert [event["state"] for event in events if event["type"] == "step"] == ["queued", "running", "running", "done"]


def test_begin_refuses_a_stale_message(service, conn):
    video_id = new_video(conn)
    step = service.request(video_id, "download")
    assert service.begin(step.id, "some-other-task-id") is None
    assert store.steps.get_step(conn, step.id).state == "queued"


def test_progress_on_a_deleted_video_reports_gone(service, conn):
    video_id = new_video(conn)
    step = service.request(video_id, "download")
    service.begin(step.id, step.task_id)
    with store.engine.transaction(conn):
        store.videos.delete_video(conn, video_id)
    assert service.progress(step.id, 0.5) is False
    assert service.finish(step.id) is None


def test_error_keeps_message_and_retry_clears_it(service, conn):
    video_id = new_video(conn)
    step = service.request(video_id, "download")
    service.begin(step.id, step.task_id)
    service.fail(step.id, "yt-dlp: HTTP Error 404")
    rows = store.steps.steps_of(conn, [video_id])
    assert steps.video_status(rows) == "error"
    retried = service.request(video_id, "download")
    assert retried.state == "queued" and retried.error is None


def test_rerun_marks_finished_dependents_stale(service, conn):
    video_id = new_video(conn)
    for name in ("download", "audio", "transcribe"):
        run_to_done(service, video_id, name)
    service.request(video_id, "download")
    states = {row.name: row.state for row in store.steps.steps_of(conn, [video_id])}
    assert states["download"] == "queued"
    assert states["audio"] == "stale" and states["transcribe"] == "stale"
    assert states["diarize"] == "pending"
    with pytest.raises(StepBlocked, match="audio is stale"):
        service.request(video_id, "transcribe")


def test_ready_dependents_waits_for_every_prerequisite(service, conn):
    video_id = new_video(conn)
    for name in ("download", "audio"):
        run_to_done(service, video_id, name)
    audio = store.steps.find_step(conn, video_id, "audio")
    assert service.ready_dependents(audio) == ["transcribe", "diarize"]
    transcribed = run_to_done(service, video_id, "transcribe")
    assert service.ready_dependents(transcribed) == []
    diarized = run_to_done(service, video_id, "diarize")
    assert service.ready_dependents(diarized) == ["exchanges"]


def test_queue_failure_marks_error_instead_of_waiting_forever(conn):
    def broken(step):
        raise ConnectionError("redis down")

    service = StepService(conn, enqueue=broken)
    video_id = new_video(conn)
    with pytest.raises(steps.QueueUnavailable, match="queue unavailable"):
        service.request(video_id, "download")
    step = store.steps.find_step(conn, video_id, "download")
    assert step.state == "error" and "queue unavailable" in step.error


@pytest.mark.parametrize(
    ("states", "status"),
    [
        (["done", "done"], "done"),
        (["done", "running"], "running"),
        (["done", "error", "queued"], "error"),
        (["pending", "pending"], "pending"),
        (["done", "pending"], "partial"),
        (["done", "stale"], "partial"),
        (["queued", "pending"], "queued"),
    ],
)
def test_video_status_is_derived(states, status):
    assert steps.video_status([SimpleNamespace(state=state) for state in states]) == status


def test_dependents_are_transitive():
    assert steps.dependents("download", None) == ["audio", "transcribe", "diarize", "exchanges", "translate"]
    assert steps.dependents("transcribe", None) == ["exchanges", "translate"]
    assert steps.dependents("define_clips", 1) == ["cut_clips"]


def test_recover_requeues_a_lost_step_after_two_sightings(service, conn, sent):
    video_id = new_video(conn)
    step = service.request(video_id, "download")
    service.begin(step.id, step.task_id)
    suspects = service.recover(set(), {}, max_attempts=3)
    assert suspects == {step.id: step.task_id}
    assert store.steps.get_step(conn, step.id).state == "running", "one sighting is not enough"
    suspects = service.recover(set(), suspects, max_attempts=3)
    again = store.steps.get_step(conn, step.id)
    assert again.state == "queued" and again.task_id != step.task_id
    assert sent[-1].task_id == again.task_id
    assert service.progress(step.id, 0.5, step.task_id) is False, "the lost task may not write any more"


def test_recover_leaves_live_tasks_alone(service, conn):
    video_id = new_video(conn)
    step = service.request(video_id, "download")
    suspects = service.recover({step.task_id}, {step.id: step.task_id}, max_attempts=3)
    assert suspects == {}
    assert store.steps.get_step(conn, step.id).task_id == step.task_id


def test_recover_gives_up_after_max_attempts(service, conn):
    video_id = new_video(conn)
    step = service.request(video_id, "download")
    service.begin(step.id, step.task_id)
    service.recover(set(), {step.id: step.task_id}, max_attempts=1)
    failed = store.steps.get_step(conn, step.id)
    assert failed.state == "error" and failed.error.startswith("worker lost")


def test_phase2_needs_transcript_and_speakers(service, conn):
    video_id = new_video(conn)
    with store.engine.transaction(conn):
        from pipeline.types import Exchange

        exchange_id = store.exchanges.insert_exchange(conn, video_id, "man_1", "manual", Exchange(1, 5, "", "", ""))
        store.steps.insert_steps(conn, video_id, steps.PHASE2_STEPS, exchange_id=exchange_id)
    with pytest.raises(StepBlocked, match="transcribe is pending; diarize is pending"):
        service.request(video_id, "label_speakers", exchange_id)
    with pytest.raises(StepBlocked, match="label_speakers is pending"):
        service.request(video_id, "define_clips", exchange_id)


def test_every_step_has_a_task_and_every_task_a_step():
    import importlib

    from celery import Celery

    from tasks import TASK_MODULES

    for module in TASK_MODULES:
        importlib.import_module(module)
    app = Celery("registry-check")
    app.finalize()  # shared tasks attach to every app here
    registered = {name for name in app.tasks if name.startswith(steps.TASK_PREFIX)}
    assert registered == {definition.task for definition in steps.REGISTRY}
    assert {definition.queue for definition in steps.REGISTRY} <= {steps.IO_QUEUE, steps.COMPUTE_QUEUE}


def test_the_api_says_what_may_be_done_with_each_step(service, conn):
    video_id = new_video(conn)
    described = presenters.describe(store.videos.get_video(conn, video_id), store.steps.steps_of(conn, [video_id]))
    actions = {step["name"]: step["action"] for step in described["steps"]}
    assert actions["download"] == {"label": "Run", "enabled": True, "reason": "", "cancel": False}
    waiting = {"label": "Run", "enabled": False, "reason": "waiting for Transcribe, Find speakers", "cancel": False}
    assert actions["exchanges"] == waiting
    assert described["exchanges_waiting"] == "waiting for Transcribe and Find speakers"
    service.request(video_id, "download")
    described = presenters.describe(store.videos.get_video(conn, video_id), store.steps.steps_of(conn, [video_id]))
    assert described["steps"][0]["action"] == {"label": "Run", "enabled": False, "reason": "under way", "cancel": True}
    assert described["steps"][0]["title"] == "Download"


def test_a_phase2_step_waits_for_the_phase1_steps_it_reads(conn):
    video_states = {"transcribe": "done", "diarize": "running"}
    action = status_words.step_action("label_speakers", "pending", {}, video_states)
    assert action == {"label": "Run", "enabled": False, "reason": "waiting for Find speakers", "cancel": False}
    video_states["diarize"] = "done"
    assert status_words.step_action("label_speakers", "error", {}, video_states)["enabled"] is True
    assert (
        status_words.step_action("define_clips", "done", {"label_speakers": "done"}, video_states)["label"] == "Re-run"
    )


def test_progress_counts_each_step_by_its_weight():
    names = steps.PHASE1_STEPS
    step = SimpleNamespace
    assert steps.weighted_progress([step(name=n, state="pending", progress=0.0) for n in names]) == 0.0
    assert steps.weighted_progress([step(name=n, state="done", progress=1.0) for n in names]) == pytest.approx(1.0)
    half = [step(name=n, state="done" if n in ("download", "audio") else "pending", progress=0.0) for n in names]
    running = [*half[:2], step(name="transcribe", state="running", progress=0.5), *half[3:]]
    assert steps.weighted_progress(half) < steps.weighted_progress(running) < 1.0


def test_a_phase1_step_event_carries_the_videos_status(service, conn, events):
    video_id = new_video(conn)
    service.request(video_id, "download")
    assert events[-1]["name"] == "download" and events[-1]["video_status"] == "queued"


def _where(conn, video_id) -> status_words.Standing:
    return status_words.standings(conn, [store.videos.get_video(conn, video_id)])[video_id]


def _phase1_done(service, conn, video_id):
    for name in steps.PHASE1_STEPS:
        step = store.steps.find_step(conn, video_id, name)
        store.steps.update_step(conn, step.id, state="done", progress=1.0)


def _exchange(conn, video_id, chain=False):
    from operations.exchanges import create_exchange
    from pipeline.types import Exchange

    with store.engine.transaction(conn):
        return create_exchange(conn, video_id, "man_1", "manual", Exchange(0, 9, "Why?", "A", "B"), chain=chain)


def test_a_video_is_never_done_while_its_clips_are_being_cut(service, conn):
    video_id = new_video(conn)
    assert _where(conn, video_id) == status_words.Standing("pending", "pending")
    _phase1_done(service, conn, video_id)
    exchange_id = _exchange(conn, video_id, chain=True)
    process = service.request(video_id, "label_speakers", exchange_id)
    assert _where(conn, video_id) == status_words.Standing("running", "Q&A 0 of 1 cut")
    service.begin(process.id, process.task_id)
    service.finish(process.id)  # the chain queues define_clips right after this: still under way
    assert _where(conn, video_id) == status_words.Standing("running", "Q&A 0 of 1 cut")
    for name in ("define_clips", "cut_clips"):
        step = service.request(video_id, name, exchange_id)
        service.begin(step.id, step.task_id)
        if name == "cut_clips":
            assert _where(conn, video_id).state == "running"
        service.finish(step.id)
    with store.engine.transaction(conn):
        store.clips.replace_clips(
            conn, exchange_id, [{"position": 0, "kind": "exchange", "start_time": 0, "end_time": 9, "path": "/x.mp4"}]
        )
    assert _where(conn, video_id) == status_words.Standing("done", "1 Q&A · 1 clip")


def test_an_exchange_never_asked_for_leaves_the_video_done_and_a_failed_cut_says_so(service, conn):
    video_id = new_video(conn)
    _phase1_done(service, conn, video_id)
    exchange_id = _exchange(conn, video_id)
    assert _where(conn, video_id) == status_words.Standing("done", "1 Q&A")
    step = service.request(video_id, "label_speakers", exchange_id)
    service.begin(step.id, step.task_id)
    service.fail(step.id, "no speakers")
    assert _where(conn, video_id) == status_words.Standing("error", "Q&A 0 of 1 cut · 1 failed")


def test_a_cancelled_step_goes_back_to_pending_and_its_task_can_write_nothing(service, conn, events):
    video_id = new_video(conn)
    step = service.request(video_id, "download")
    service.begin(step.id, step.task_id)
    cancelled, task_id = service.cancel(video_id, "download")
    assert (cancelled.state, cancelled.task_id, task_id) == ("pending", None, step.task_id)
    assert events[-1]["state"] == "pending"
    assert service.progress(step.id, 0.5, step.task_id) is False and service.finish(step.id, step.task_id) is None
    with pytest.raises(StepBlocked, match="nothing to cancel"):
        service.cancel(video_id, "download")


def test_moving_a_qas_bounds_makes_its_finished_steps_stale_and_waits_for_running_ones(service, conn):
    video_id = new_video(conn)
    _phase1_done(service, conn, video_id)
    exchange_id = _exchange(conn, video_id)
    first = service.request(video_id, "label_speakers", exchange_id)
    service.begin(first.id, first.task_id)
    with pytest.raises(StepBlocked, match="under way"), store.engine.transaction(conn):
        service.mark_exchange_changed(video_id, exchange_id)
    service.finish(first.id)
    with store.engine.transaction(conn):
        staled = service.mark_exchange_changed(video_id, exchange_id)
    assert staled == [first.id] and store.steps.get_step(conn, first.id).state == "stale"


def test_queued_steps_know_how_many_wait_ahead_of_them_in_their_queue(service, conn, events):
    first, second = new_video(conn), new_video(conn)
    downloads = [service.request(video_id, "download") for video_id in (first, second)]
    queue = [event for event in events if event["type"] == "queue"][-1]
    assert queue["ahead"] == {downloads[0].id: 0, downloads[1].id: 1}
    service.begin(downloads[0].id, downloads[0].task_id)
    assert [event for event in events if event["type"] == "queue"][-1]["ahead"] == {downloads[1].id: 0}
    service.cancel(second, "download")
    assert [event for event in events if event["type"] == "queue"][-1]["ahead"] == {}


def test_each_worker_queue_is_its_own_line():
    def waiting(step_id, name, at):
        return SimpleNamespace(id=step_id, name=name, queued_at=at)

    line = [
        waiting(1, "download", "10:00"),
        waiting(2, "transcribe", "10:01"),
        waiting(3, "diarize", "10:02"),
        waiting(4, "download", "10:03"),
    ]
    assert steps.STEP["download"].queue != steps.STEP["transcribe"].queue == steps.STEP["diarize"].queue
    assert steps.queue_positions(reversed(line)) == {1: 0, 2: 0, 3: 1, 4: 1}


def at_once(count: int, location: str, action) -> list:
    """`action(service)` from `count` threads at the same moment, each on its own connection (as
    separate web processes would be); the results, and every task the services sent, in `sent`."""
    sent, results, errors = [], [], []
    barrier = threading.Barrier(count)

    def run():
        conn = store.engine.connect(location)
        try:
            service = StepService(conn, publish=lambda _event: None, enqueue=sent.append)
            barrier.wait()
            results.append(action(service))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            conn.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return [results, sent]


def test_one_step_asked_for_by_many_processes_at_once_is_queued_once(conn, database_location):
    video_id = new_video(conn)
    results, sent = at_once(8, database_location, lambda service: service.request(video_id, "download"))
    assert len(sent) == 1
    assert {step.task_id for step in results} == {sent[0].task_id}


def test_a_lost_step_seen_by_many_reconcilers_at_once_is_queued_again_once(conn, service, database_location):
    video_id = new_video(conn)
    step = service.request(video_id, "download")
    service.begin(step.id, step.task_id)
    _results, sent = at_once(
        6, database_location, lambda other: other.recover(set(), {step.id: step.task_id}, max_attempts=3)
    )
    assert len(sent) == 1
    assert store.steps.get_step(conn, step.id).task_id == sent[0].task_id
