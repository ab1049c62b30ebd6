"""Shared fixtures. Integration tests use the real broker that `coea broker up` starts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from coea.settings import REPO_ROOT, Settings

SHARED = REPO_ROOT.parent / "shared"
ML100K = SHARED / "data" / "ml-100k"
COEA = str(Path(sys.executable).with_name("coea"))


def pytest_configure(config: pytest.Config) -> None:
    # Two cores here: keep torch from oversubscribing them in every test process.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass


@pytest.fixture(scope="session")
def ml100k() -> Path:
    """Path to MovieLens-100K in ../shared (never copied into the project)."""
    if not (ML100K / "u.data").is_file():
        pytest.skip(f"MovieLens-100K not found at {ML100K} (it lives in ../shared/data)")
    return ML100K


@pytest.fixture(scope="session")
def broker() -> str:
    """Start the real Kafka broker through `coea broker up` (idempotent); returns its address."""
    if shutil.which("java") is None:
        pytest.fail("java is not installed: the integration tests need the real Kafka broker")
    proc = subprocess.run([COEA, "broker", "up"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"coea broker up failed:\n{proc.stdout}\n{proc.stderr}"
    return Settings().bootstrap_servers


@dataclass(frozen=True)
class KafkaEnv:
    """A private topic namespace on the shared broker, for one test."""

    settings: Settings
    env: dict[str, str]  # environment for subprocesses (coea worker, coea replay, ...)

    def topic(self, spec) -> str:
        return spec.name(self.settings)


@pytest.fixture
def kafka_env(broker: str, tmp_path: Path) -> KafkaEnv:
    """Unique topic prefix and data dirs, topics created; subprocesses get the same via env."""
    return make_kafka_env(tmp_path, f"t{uuid.uuid4().hex[:10]}")


def make_kafka_env(tmp_path: Path, prefix: str) -> KafkaEnv:
    """A KafkaEnv under `prefix` with its own data dirs below tmp_path (topics created)."""
    env = dict(os.environ)
    env.update(
        COEA_TOPIC_PREFIX=prefix,
        COEA_DATA_DIR=str(tmp_path / "data"),
        COEA_ARTIFACTS_DIR=str(tmp_path / "artifacts"),
    )
    settings = Settings(
        topic_prefix=prefix, data_dir=tmp_path / "data", artifacts_dir=tmp_path / "artifacts"
    )
    from coea.admin import create_topics

    create_topics(settings)
    return KafkaEnv(settings, env)


@pytest.fixture
def kafka_env_factory(broker: str):
    """Make further private KafkaEnvs in one test: factory(tmp_dir) -> KafkaEnv."""
    return lambda tmp: make_kafka_env(Path(tmp), f"t{uuid.uuid4().hex[:10]}")


@pytest.fixture(scope="session")
def coea_bin() -> str:
    """Path of the `coea` console script of this virtual environment."""
    return COEA
