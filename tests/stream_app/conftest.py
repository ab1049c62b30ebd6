"""Fixtures of the stream integration tests: one uninterrupted ML-100K run shared by a module."""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from coea.schemas import DeadLetter, TrainingWindow
from coea.settings import Settings
from coea.state import UserState
from coea.topics import EVENTS_DLQ, TRAINING_WINDOWS


@dataclass
class MlRun:
    """What one uninterrupted `coea replay --ml-100k` through `coea worker` left behind."""

    settings: Settings
    states: dict[str, UserState]
    windows: list[TrainingWindow]
    dead_letters: list[DeadLetter]
    replay_output: str
    cli_state: str
    store_state: str
    worker_log: str
    crashes: list[str]
    exit_code: int
    seconds: float


def private_env(tmp: Path, extra: dict[str, str]) -> tuple[dict[str, str], Settings]:
    """Like tests/conftest.py's kafka_env (unique prefix, own data dir), for a wider scope."""
    from coea.admin import create_topics

    prefix = f"t{uuid.uuid4().hex[:10]}"
    env = {
        **os.environ,
        "COEA_TOPIC_PREFIX": prefix,
        "COEA_DATA_DIR": str(tmp / "data"),
        "COEA_ARTIFACTS_DIR": str(tmp / "artifacts"),
        **extra,
    }
    settings = Settings(
        topic_prefix=prefix,
        data_dir=tmp / "data",
        artifacts_dir=tmp / "artifacts",
        filter_unit="category",
        window_cap=1000,
    )
    create_topics(settings)
    return env, settings


@pytest.fixture(scope="module")
def ml100k_run(broker, ml100k, tmp_path_factory) -> MlRun:
    from stream_app.store import iter_users
    from stream_app.testing import (
        ML_ENV,
        Worker,
        delete_topics,
        events_consumed,
        read_topic,
        run_cli,
        wait_for,
    )

    tmp = tmp_path_factory.mktemp("ml100k-run")
    env, settings = private_env(tmp, ML_ENV)
    worker = Worker.start(env, tmp / "worker.log")
    try:
        start = time.monotonic()
        replay = run_cli(env, "replay", "--ml-100k", str(ml100k))
        wait_for(lambda: events_consumed(settings), 300, "the worker to consume the replay", 1.0)
        seconds = time.monotonic() - start
        web_env = {**env, "COEA_WORKER_WEB_PORT": str(worker.port)}
        cli_state = run_cli(web_env, "state", "1", "--source", "worker").stdout
        crashes = worker.crashes()
        exit_code = worker.stop()
        store_state = run_cli(env, "state", "1", "--source", "store").stdout
        windows = read_topic(settings, TRAINING_WINDOWS.name(settings))
        dead = read_topic(settings, EVENTS_DLQ.name(settings), timeout_s=5)
        yield MlRun(
            settings=settings,
            states={s.user_id: s for s in iter_users(settings)},
            windows=[TrainingWindow.model_validate_json(v) for _, v in windows],
            dead_letters=[DeadLetter.model_validate_json(v) for _, v in dead],
            replay_output=replay.stdout + replay.stderr,
            cli_state=cli_state,
            store_state=store_state,
            worker_log=worker.log_text(),
            crashes=crashes,
            exit_code=exit_code,
            seconds=seconds,
        )
    finally:
        if worker.alive():
            worker.kill()
        delete_topics(settings)
