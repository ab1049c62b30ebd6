"""What a child process of the project is started with: a free loopback port, and the Settings
its ``COEA_*`` environment gives it (the worker, learner and broker subprocesses of the live
system and of the tests)."""

from __future__ import annotations

import socket

from coea.settings import Settings


def free_port() -> int:
    """A TCP port free on 127.0.0.1 at the call."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def settings_from_env(env: dict[str, str]) -> Settings:
    """The Settings a subprocess started with `env` will read (COEA_* variables)."""
    fields = Settings.model_fields
    return Settings(
        **{
            k[5:].lower(): v
            for k, v in env.items()
            if k.startswith("COEA_") and k[5:].lower() in fields
        }
    )
