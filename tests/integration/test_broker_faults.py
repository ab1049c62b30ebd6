"""Broker faults under a running `coea worker`, on private brokers (never the shared one): a
three-broker cluster with replication 3 loses a node to SIGKILL mid-replay; a single broker
is stopped and started again mid-replay. Either way the worker carries on by itself and the
final state of every user equals the reference computed from the MovieLens files."""

from __future__ import annotations

import shutil
import time

import pytest
from ml100k_reference import PARAMS, assert_states_match, reference  # tests/support
from private_kafka import start_private_kafka  # tests/support

from coea.topics import ALL_TOPICS, EVENTS
from stream_app.testing import ML_ENV, Worker, events_consumed, events_end, start_replay, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(autouse=True)
def _java():
    if shutil.which("java") is None:
        pytest.fail("java is not installed: the broker fault tests need real Kafka brokers")


def test_three_broker_cluster_replicates_every_topic(tmp_path):
    from coea.admin import create_topics, describe_topic_configs

    kafka = start_private_kafka(tmp_path, brokers=3, replication=3, min_isr=2)
    try:
        status = kafka.coea("broker", "status")
        assert status.returncode == 0, status.stdout
        assert "cluster of 3 brokers, 3 answering" in status.stdout
        settings = kafka.settings
        assert len(settings.broker_addresses) == 3
        names = [r.name for r in create_topics(settings)]
        assert len(names) == len(ALL_TOPICS)
        described = describe_topic_configs(names, settings)
        for name, d in described.items():
            assert (d["replicas"], d["in_sync"], d["min.insync.replicas"]) == (3, 3, 2), (name, d)
    finally:
        down = kafka.down()
    assert down.count("stopped (pid") == 3
    assert kafka.coea("broker", "status").returncode == 1


def _mid_replay(kafka, worker, replay):
    """Wait until the replay has sent 30,000 events and the worker applies them; the replay
    must still be sending."""
    wait_for(
        lambda: events_end(kafka.settings) >= 30_000 and (worker.stats() or {}).get("applied"),
        300,
        "30,000 events on the events topic, the worker applying them",
        0.2,
        detail=worker.diagnosis,
    )
    assert replay.poll() is None, "the replay ended before the fault"


def _finish(kafka, worker, replay, replay_log, ml100k):
    """Wait for the replay and the worker; the final states must equal the reference."""
    from stream_app.store import iter_users

    settings = kafka.settings.model_copy(update={"filter_unit": "category", "window_cap": 1000})
    assert replay.wait(timeout=600) == 0, replay_log.read_text()[-3000:]
    assert "sent 100000 events, rejected 0" in replay_log.read_text()
    wait_for(
        lambda: events_consumed(settings),
        600,
        "the worker to catch up",
        2.0,
        detail=lambda: worker.diagnosis() + "\n" + "\n".join(kafka.log),
    )
    assert worker.alive(), "the worker exited instead of carrying on"
    assert worker.stop(timeout_s=120) == 0
    states = {s.user_id: s for s in iter_users(settings)}
    assert_states_match(states, reference(ml100k), PARAMS)
    assert sum(s.events for s in states.values()) == 100_000


def _replay_through_a_fault(kafka, tmp_path, ml100k, fault) -> None:
    """Replay ML-100K through a real worker on the private `kafka`; once 30,000 events are
    on the topic, call ``fault(kafka)`` (it breaks and mends the cluster); then the replay and
    the worker must finish by themselves with every state equal to the reference."""
    from coea.admin import create_topics

    env = {**kafka.env, **ML_ENV}
    worker = replay = None
    try:
        create_topics(kafka.settings)
        worker = Worker.start(env, tmp_path / "worker.log")
        replay_log = tmp_path / "replay.log"
        replay = start_replay(env, ml100k, replay_log)
        _mid_replay(kafka, worker, replay)
        applied_at_fault = worker.stats()["applied"]
        fault(kafka)
        _finish(kafka, worker, replay, replay_log, ml100k)
        assert applied_at_fault < 100_000
    finally:
        if replay is not None and replay.poll() is None:
            replay.kill()
        if worker is not None and worker.alive():
            worker.kill()
        kafka.down()


def test_sigkill_of_one_of_three_brokers_mid_replay_loses_nothing(tmp_path, ml100k):
    """Replication 3, min.insync.replicas 2: the node leading events partition 0 is killed
    with SIGKILL once the replay has sent 30,000 events, and started again 20 s later."""

    def kill_the_leader(kafka) -> None:
        kafka.kill(kafka.leader(EVENTS.name(kafka.settings), 0))
        time.sleep(20)
        assert kafka.coea("broker", "status").returncode == 1  # one node is down
        kafka.up()  # starts the stopped node only

    kafka = start_private_kafka(tmp_path, brokers=3, replication=3, min_isr=2)
    _replay_through_a_fault(kafka, tmp_path, ml100k, kill_the_leader)


def test_single_broker_stopped_and_restarted_mid_replay_the_worker_resumes(tmp_path, ml100k):
    """A private single broker is stopped (`coea broker down`) once the replay has sent
    30,000 events, and started again 10 s later; the worker and the replay carry on by
    themselves."""

    def stop_and_start(kafka) -> None:
        kafka.down()
        time.sleep(10)
        kafka.up()

    kafka = start_private_kafka(tmp_path, brokers=1)
    _replay_through_a_fault(kafka, tmp_path, ml100k, stop_and_start)
