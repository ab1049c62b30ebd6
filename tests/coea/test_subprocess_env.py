"""coea.subprocess_env: a free loopback port and the Settings of a child's environment."""

from __future__ import annotations

import socket

from coea.subprocess_env import free_port, settings_from_env


def test_free_port_can_be_bound():
    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_settings_from_env_reads_only_coea_fields():
    env = {"COEA_TOPIC_PREFIX": "p1", "COEA_KAFKA_PORT": "19092", "COEA_NOT_A_FIELD": "x"}
    settings = settings_from_env({**env, "PATH": "/bin"})
    assert settings.topic_prefix == "p1" and settings.kafka_port == 19092
