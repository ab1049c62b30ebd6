"""A secured broker of the tests' own (TLS, SCRAM users, ACLs), started by `coea broker up`
in a temporary home on free ports beside the plain development broker, and stopped at the end
of the session."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from coea.broker_security import principal_env, principal_settings
from coea.settings import Settings
from coea.subprocess_env import free_port
from stream_app.testing import COEA


@dataclass(frozen=True)
class SecuredBroker:
    """The secured broker: settings without a user, and per-user settings and environments."""

    settings: Settings
    env: dict[str, str]  # COEA_* of the broker and topic prefix, no user

    def as_user(self, user: str, **update) -> Settings:
        return principal_settings(self.settings.model_copy(update=update), user)

    def env_for(self, user: str, base: dict[str, str] | None = None) -> dict[str, str]:
        """`base` (default: the broker's environment) with `user`'s credentials."""
        return {**(base if base is not None else self.env), **principal_env(self.settings, user)}

    def provision(self, prefix: str) -> Settings:
        """Topics and ACLs for another topic prefix (as the super user); its settings."""
        from coea import acls
        from coea.admin import create_topics

        admin = self.as_user(acls.ADMIN, topic_prefix=prefix)
        create_topics(admin)
        acls.apply(admin)
        return self.settings.model_copy(update={"topic_prefix": prefix})


@pytest.fixture(scope="session")
def secured_broker(tmp_path_factory) -> SecuredBroker:
    if shutil.which("java") is None:
        pytest.fail("java is not installed: the secured broker tests need a real Kafka broker")
    home = tmp_path_factory.mktemp("secured-kafka")
    port, controller = free_port(), free_port()
    while controller == port:
        controller = free_port()
    prefix = f"s{uuid.uuid4().hex[:10]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("COEA_KAFKA_")} | {
        "COEA_KAFKA_HOME": str(home),
        "COEA_KAFKA_PORT": str(port),
        "COEA_KAFKA_CONTROLLER_PORT": str(controller),
        "COEA_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "COEA_KAFKA_HEAP": "384m",
        "COEA_TOPIC_PREFIX": prefix,
    }
    settings = Settings(
        kafka_home=Path(home),
        kafka_port=port,
        kafka_controller_port=controller,
        kafka_security_protocol="SASL_SSL",
        topic_prefix=prefix,
    )
    proc = subprocess.run(
        [COEA, "broker", "up"], env=env, capture_output=True, text=True, timeout=300
    )
    try:
        assert proc.returncode == 0, f"secured broker up failed:\n{proc.stdout}\n{proc.stderr}"
        yield SecuredBroker(settings, env)
    finally:
        subprocess.run([COEA, "broker", "down"], env=env, capture_output=True, timeout=120)
