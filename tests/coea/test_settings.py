"""Settings: defaults, COEA_ environment variables and the optional config file."""

from __future__ import annotations

import pytest

from coea.settings import Settings
from coea.topics import ALL_TOPICS, EVENTS, NOVEL_CATEGORIES


def test_defaults_work_on_one_machine(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for key in list(__import__("os").environ):
        if key.startswith("COEA_"):
            monkeypatch.delenv(key)
    s = Settings()
    assert s.bootstrap_servers == "127.0.0.1:9092"
    assert s.tau == 5 and s.topic_prefix == "coea"


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("COEA_KAFKA_PORT", "19092")
    monkeypatch.setenv("COEA_TAU", "3")
    s = Settings()
    assert s.bootstrap_servers.endswith(":19092") and s.tau == 3


def test_learner_group_follows_the_prefix(monkeypatch):
    monkeypatch.delenv("COEA_LEARNER_GROUP_ID", raising=False)
    a = Settings(topic_prefix="a")
    b = a.model_copy(update={"topic_prefix": "b"})
    assert (a.learner_group, b.learner_group) == ("a-learner", "b-learner")
    assert Settings(topic_prefix="a", learner_group_id="shared").learner_group == "shared"


def test_config_file(monkeypatch, tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('tau = 7\ntopic_prefix = "prod"\n')
    monkeypatch.setenv("COEA_CONFIG", str(cfg))
    monkeypatch.delenv("COEA_TAU", raising=False)
    monkeypatch.delenv("COEA_TOPIC_PREFIX", raising=False)
    s = Settings()
    assert s.tau == 7
    assert EVENTS.name(s) == "prod.events"
    monkeypatch.setenv("COEA_TAU", "2")
    assert Settings().tau == 2  # environment beats the file


def test_missing_config_file_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("COEA_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(FileNotFoundError, match="nope.toml"):
        Settings()


def test_invalid_setting_names_the_field(monkeypatch):
    monkeypatch.setenv("COEA_KAFKA_PORT", "not-a-port")
    with pytest.raises(ValueError, match="kafka_port"):
        Settings()


def test_topic_policies():
    by_suffix = {t.suffix: t for t in ALL_TOPICS}
    assert {s for s, t in by_suffix.items() if t.cleanup_policy == "compact"} == {
        "items",
        "user-groups",
        "novel-categories",
    }
    assert NOVEL_CATEGORIES.partitions == 1
    assert len({t.suffix for t in ALL_TOPICS}) == len(ALL_TOPICS)


def test_bootstrap_list_from_brokers_or_explicit(monkeypatch):
    for key in ("COEA_KAFKA_BOOTSTRAP", "COEA_KAFKA_BROKERS", "COEA_KAFKA_PORT"):
        monkeypatch.delenv(key, raising=False)
    s = Settings(kafka_port=9092, kafka_controller_port=9093, kafka_brokers=3)
    assert s.bootstrap_servers == "127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096"
    assert [s.node_ports(k) for k in (1, 2, 3)] == [(9092, 9093), (9094, 9095), (9096, 9097)]
    monkeypatch.setenv("COEA_KAFKA_BOOTSTRAP", " a:1, b:2 ")
    s = Settings()
    assert s.bootstrap_servers == "a:1,b:2" and s.broker_addresses == ["a:1", "b:2"]
    monkeypatch.setenv("COEA_KAFKA_BOOTSTRAP", "a:1,b")
    with pytest.raises(ValueError, match="kafka_bootstrap"):
        Settings()


def test_replication_settings(monkeypatch):
    monkeypatch.delenv("COEA_TOPIC_REPLICATION_FACTOR", raising=False)
    monkeypatch.delenv("COEA_TOPIC_MIN_INSYNC_REPLICAS", raising=False)
    s = Settings()
    assert (s.topic_replication_factor, s.topic_min_insync_replicas) == (1, 1)
    monkeypatch.setenv("COEA_TOPIC_REPLICATION_FACTOR", "3")
    monkeypatch.setenv("COEA_TOPIC_MIN_INSYNC_REPLICAS", "2")
    s = Settings()
    assert (s.topic_replication_factor, s.topic_min_insync_replicas) == (3, 2)
    from stream_app.config import faust_options, worker_topics

    opts = faust_options(s)
    assert opts["topic_replication_factor"] == 3 and opts["producer_acks"] == -1
    assert all(cfg["min.insync.replicas"] == "2" for _, _, cfg in worker_topics(s))
    monkeypatch.setenv("COEA_TOPIC_REPLICATION_FACTOR", "1")
    with pytest.raises(ValueError, match="topic_min_insync_replicas"):
        Settings()


def test_the_advertised_url_is_where_other_workers_forward_requests(monkeypatch):
    """Faust's canonical_url (where a request for another worker's user is forwarded):
    the web host and port, the host name for an all-interfaces bind, or the setting."""
    import socket

    from stream_app.config import advertised_url, faust_options

    monkeypatch.delenv("COEA_WORKER_ADVERTISED_URL", raising=False)
    s = Settings(worker_web_host="127.0.0.1", worker_web_port=7001)
    assert advertised_url(s) == "http://127.0.0.1:7001"
    assert faust_options(s)["canonical_url"] == "http://127.0.0.1:7001"
    s = Settings(worker_web_host="0.0.0.0", worker_web_port=7002)
    assert advertised_url(s) == f"http://{socket.gethostname()}:7002"
    s = Settings(worker_web_host="::", worker_web_port=7003)
    assert advertised_url(s) == f"http://{socket.gethostname()}:7003"
    s = Settings(worker_web_host="::1", worker_web_port=7004)
    assert advertised_url(s) == "http://[::1]:7004"
    monkeypatch.setenv("COEA_WORKER_ADVERTISED_URL", "http://worker-2.internal:6066/")
    assert advertised_url(Settings(worker_web_host="0.0.0.0")) == "http://worker-2.internal:6066"
