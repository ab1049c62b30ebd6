"""Secured mode end to end on the real secured broker: replay -> worker -> learner -> table
-> HTTP, every process with its own SASL user over TLS, the web views behind a bearer token.
Also: no secret in any log or output, and the worker refuses a public bind without a token.
"""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest

from coea import acls
from coea.table_io import read_table
from stream_app.testing import COEA, Worker, run_cli, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _get(port: int, path: str, token: str | None = None) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def test_secured_replay_learn_publish_serve(secured_broker, tmp_path):
    prefix = f"e{uuid.uuid4().hex[:10]}"
    settings = secured_broker.provision(prefix)
    token = uuid.uuid4().hex + uuid.uuid4().hex
    token_file = tmp_path / "api.token"
    token_file.write_text(token + "\n")
    base = secured_broker.env | {
        "COEA_TOPIC_PREFIX": prefix,
        "COEA_DATA_DIR": str(tmp_path / "data"),
        "COEA_ARTIFACTS_DIR": str(tmp_path / "artifacts"),
        "COEA_WORKER_API_TOKEN_FILE": str(token_file),
        "COEA_FILTER_UNIT": "category",
        "COEA_WINDOW_IDLE_FLUSH_S": "3",
        "COEA_LEARNER_PROFILE": "small",
        "COEA_LEARNER_CYCLE_WINDOWS": "3",
        "COEA_LEARNER_IDLE_SECONDS": "5",
        "COEA_LEARNER_DRIFT": "false",
    }
    worker = Worker.start(secured_broker.env_for(acls.WORKER, base), tmp_path / "worker.log")
    learner_log = tmp_path / "learner.log"
    try:
        with open(learner_log, "ab") as out:
            learner = subprocess.Popen(
                [COEA, "learner", "--until-cycle", "1", "--exit-idle", "120"],
                env=secured_broker.env_for(acls.LEARNER, base),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        replay = run_cli(
            secured_broker.env_for(acls.REPLAY, base),
            "replay",
            "--synthetic",
            "--users",
            "60",
            "--days",
            "6",
        )
        assert "sent 3125 events" in replay.stdout + replay.stderr, replay.stdout + replay.stderr
        wait_for(
            lambda: (worker.stats() or {}).get("windows_emitted", 0) > 0,
            120,
            "the worker to emit training windows",
            detail=worker.diagnosis,
        )
        learner.wait(timeout=600)
        log = learner_log.read_text()
        assert learner.returncode == 0, log[-3000:]
        assert "learner: cycle 1 published" in log, log[-3000:]

        user = next(
            f"s{i}" for i in range(60) if _get(worker.port, f"/state/s{i}/", token)[0] == 200
        )
        path = f"/v1/novel-categories/{user}"
        wait_for(
            lambda: _get(worker.port, path, token)[1].get("version") == 1,
            120,
            "the worker to serve version 1",
            detail=worker.diagnosis,
        )
        status, answer = _get(worker.port, path, token)
        assert status == 200 and answer["user_id"] == user and answer["known_user"], answer

        # the bearer token guards every view, ours and Faust's own
        for view in (path, f"/state/{user}/", "/stats/", "/router/"):
            assert _get(worker.port, view)[0] == 401, view
            assert _get(worker.port, view, "wrong-" + token)[0] == 401, view
        assert _get(worker.port, f"/state/{user}/", token)[0] == 200

        # user ids are validated as the event schema defines them
        long_id = "x" * 5000
        status, body = _get(worker.port, f"/v1/novel-categories/{long_id}", token)
        assert status == 400 and "5000 characters" in body["error"], body
        status, body = _get(worker.port, f"/state/{long_id}/", token)
        assert status == 400, body

        # a downstream table consumer reads the published version with its own user
        assert (
            read_table(secured_broker.as_user(acls.TABLE_READER, topic_prefix=prefix)).version == 1
        )
        assert settings.topic_prefix == prefix
        assert worker.crashes() == []
    finally:
        worker.stop()

    # no password or token in any log or output
    secrets = [token] + [
        (secured_broker.settings.kafka_home / "secrets" / f"{u}.password").read_text().strip()
        for u in acls.PRINCIPALS
    ]
    texts = {
        "worker.log": worker.log_text(),
        "learner.log": learner_log.read_text(),
        "replay output": replay.stdout + replay.stderr,
    }
    for name, text in texts.items():
        assert not [s for s in secrets if s in text], f"a secret appears in {name}"


def test_worker_refuses_public_bind_without_token(secured_broker, tmp_path):
    env = secured_broker.env_for(acls.WORKER) | {
        "COEA_WORKER_WEB_HOST": "0.0.0.0",
        "COEA_DATA_DIR": str(tmp_path / "data"),
    }
    env.pop("COEA_WORKER_API_TOKEN", None)
    env.pop("COEA_WORKER_API_TOKEN_FILE", None)
    proc = subprocess.run([COEA, "worker"], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "refusing to start" in proc.stderr and "COEA_WORKER_API_TOKEN" in proc.stderr


def test_help_output_holds_no_secret(secured_broker):
    password = (secured_broker.settings.kafka_home / "secrets" / "worker.password").read_text()
    env = secured_broker.env_for(acls.WORKER) | {"COEA_KAFKA_PASSWORD": password.strip()}
    for args in (["--help"], ["worker", "--help"], ["replay", "--help"], ["broker", "status"]):
        proc = subprocess.run([COEA, *args], env=env, capture_output=True, text=True, timeout=120)
        assert password.strip() not in proc.stdout + proc.stderr, args
