"""`make worker`: what a host needs to join, said before anything starts."""

import pytest

import worker
from config import ConfigError

JOINS = {
    "CELERY_BROKER_URL": "redis://redis.lan:6379/0",
    "DATABASE_URL": "postgresql://clipper@db.lan/clipper",
    "FLASK_SECRET_KEY": "x",
    "WORKER_CONCURRENCY": "1",
}


def test_a_compute_host_gets_a_worker_on_the_compute_queue_only():
    line = worker.command("compute", JOINS)
    assert line[line.index("--queues") + 1] == "compute"
    assert line[line.index("--concurrency") + 1] == "1"


@pytest.mark.parametrize(
    ("missing", "said"),
    [("CELERY_BROKER_URL", "the Redis the web app uses"), ("DATABASE_URL", "the PostgreSQL the web app uses")],
)
def test_a_host_without_the_shared_broker_or_database_is_told_what_to_set(missing, said):
    env = {name: value for name, value in JOINS.items() if name != missing}
    with pytest.raises(ConfigError, match=f"{missing}: set it to {said}"):
        worker.command("compute", env)


def test_an_unknown_queue_is_refused():
    with pytest.raises(ConfigError, match="QUEUES"):
        worker.command("gpu", JOINS)
