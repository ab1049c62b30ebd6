"""The learner's /metrics, /healthz and /readyz on `learner_web_host:learner_web_port`
(a `coea.ops.httpd.ProbeServer` thread beside the poll loop)."""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

from prometheus_client import CONTENT_TYPE_LATEST

from coea.ops.httpd import ProbeServer
from coea.settings import Settings

log = logging.getLogger(__name__)
JSON = "application/json"


class Observed(Protocol):
    """What the probes read from a learner (learners.worker.Learner)."""

    settings: Settings

    def liveness(self) -> dict[str, Any]: ...

    def readiness(self) -> dict[str, Any]: ...

    def render_metrics(self) -> bytes: ...


def _answer(body: dict[str, Any]) -> tuple[int, str, bytes]:
    return (200 if body["ok"] else 503), JSON, json.dumps(body).encode()


def start(learner: Observed) -> ProbeServer | None:
    """Serve the probes, or None when the port is 0 or taken (logged; the learner runs on)."""
    s = learner.settings
    if not s.learner_web_port:
        return None
    routes = {
        "/metrics": lambda: (200, CONTENT_TYPE_LATEST, learner.render_metrics()),
        "/healthz": lambda: _answer(learner.liveness()),
        "/readyz": lambda: _answer(learner.readiness()),
    }
    try:
        server = ProbeServer(s.learner_web_host, s.learner_web_port, routes)
    except OSError as exc:
        log.error(
            "learner: cannot serve /metrics, /healthz, /readyz on %s:%s: %s",
            s.learner_web_host,
            s.learner_web_port,
            exc,
            extra={"event": "probes_unavailable"},
        )
        return None
    log.info(
        "learner: /metrics, /healthz, /readyz on http://%s:%s/",
        s.learner_web_host,
        server.port,
        extra={"event": "probes_started"},
    )
    return server
