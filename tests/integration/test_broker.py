"""`coea broker up|down|status` on a second, private broker: idempotent and truthful."""

from __future__ import annotations

import os
import subprocess

import pytest

from coea.subprocess_env import free_port

pytestmark = pytest.mark.integration


def _run(coea_bin, env, *args):
    return subprocess.run([coea_bin, *args], env=env, capture_output=True, text=True, timeout=180)


def test_lifecycle_is_idempotent(tmp_path, broker, coea_bin):
    def _coea(env, *args):
        return _run(coea_bin, env, *args)

    env = dict(os.environ)
    env.update(
        COEA_KAFKA_PORT=str(free_port()),
        COEA_KAFKA_CONTROLLER_PORT=str(free_port()),
        COEA_KAFKA_HOME=str(tmp_path / "kafka"),
        COEA_KAFKA_HEAP="256m",
    )
    # A cluster id may start with '-' (URL-safe base64); the storage tool must not read it
    # as an option.
    (tmp_path / "kafka").mkdir()
    (tmp_path / "kafka" / "cluster.id").write_text("-" + "A" * 21 + "\n")
    st = _coea(env, "broker", "status")
    assert st.returncode == 1 and "stopped" in st.stdout
    down = _coea(env, "broker", "down")
    assert down.returncode == 0 and "already stopped" in down.stdout
    try:
        up = _coea(env, "broker", "up")
        assert up.returncode == 0, up.stderr
        assert "broker up" in up.stdout
        st = _coea(env, "broker", "status")
        assert st.returncode == 0 and st.stdout.startswith("running"), st.stdout
        again = _coea(env, "broker", "up")
        assert again.returncode == 0 and "already up" in again.stdout
        assert (tmp_path / "kafka" / "logs" / "server.log").is_file()
        meta = (tmp_path / "kafka" / "kraft" / "meta.properties").read_text()
        assert "cluster.id=-" + "A" * 21 in meta, meta
    finally:
        down = _coea(env, "broker", "down")
    assert down.returncode == 0 and "stopped (pid" in down.stdout
    st = _coea(env, "broker", "status")
    assert st.returncode == 1 and "stopped" in st.stdout
