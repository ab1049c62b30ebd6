"""The running system for one run: broker, fresh topics, `coea worker` and `coea learner`.

`coea demo` and `coea evaluate --live` (evaluation.methods.live) both start the whole stack
the way an operator would (the same CLI commands, as subprocesses) under a topic prefix, data
and artifacts folder of their own, and stop what they started. Nothing here knows about
models or metrics: it sits in evaluation, the lowest layer above both the stream worker and
the learner it starts.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

from coea.subprocess_env import free_port, settings_from_env


class LiveError(RuntimeError):
    """A process of the live system failed or did not answer in time (the message says which
    and where its log is)."""


def get_json(url: str, timeout: float = 5.0, headers: dict[str, str] | None = None):
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310 (localhost only)
        return json.loads(resp.read())


def stop_process(proc: subprocess.Popen | None, name: str, echo: Callable[[str], None]) -> None:
    """SIGTERM, then SIGKILL after 60 s."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        echo(f"{name} did not stop in 60s; killing it")
        proc.kill()
        proc.wait()


def _raise_on_sigterm():
    """Make SIGTERM raise SystemExit in this process, so `with LiveSystem(...)` stops the worker
    and learner it started instead of leaving them running; returns the previous handler (None
    off the main thread, where handlers cannot be set)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    return signal.signal(signal.SIGTERM, stop)


class LiveSystem:
    """Broker (started unless one answers), topics under `prefix`, a worker and a learner.

    Use as a context manager; `COEA_*` variables in `env` configure both processes, on top of
    the caller's environment. The broker is stopped on exit only when this object started it
    and `keep_broker` is false.
    """

    def __init__(
        self,
        out: Path,
        prefix: str,
        env: dict[str, str],
        learner_args: Sequence[str] = (),
        keep_broker: bool = False,
        echo: Callable[[str], None] = print,
    ) -> None:
        self.out, self.echo, self.keep_broker = Path(out).resolve(), echo, keep_broker
        self.out.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.env = dict(os.environ)
        self.env.update(
            COEA_TOPIC_PREFIX=prefix,
            COEA_DATA_DIR=str(self.out / "data"),
            COEA_ARTIFACTS_DIR=str(self.out / "artifacts"),
            COEA_WORKER_WEB_PORT=str(self.port),
            PYTHONUNBUFFERED="1",  # the learner's log is read while it runs
        )
        self.env.update(env)
        self.settings = settings_from_env(self.env)
        self.learner_args = list(learner_args)
        self.worker_log, self.learner_log = self.out / "worker.log", self.out / "learner.log"
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.worker: subprocess.Popen | None = None
        self.learner: subprocess.Popen | None = None
        self.started_broker = False

    # ---- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> LiveSystem:
        self._previous_sigterm = _raise_on_sigterm()
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.stop()
        finally:
            if self._previous_sigterm is not None:
                signal.signal(signal.SIGTERM, self._previous_sigterm)

    def start(self) -> None:
        from coea import broker as broker_ctl
        from coea.admin import create_topics

        self.started_broker = not broker_ctl.answers(self.settings)
        broker_ctl.up(self.settings, echo=self.echo)
        create_topics(self.settings)
        coea = str(Path(sys.executable).with_name("coea"))
        self.worker = subprocess.Popen(
            [coea, "worker", "--logfile", str(self.worker_log), "--loglevel", "warning"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        self.wait_http("/stats/", 120)
        self.echo(f"worker up (web {self.base_url})")
        with open(self.learner_log, "ab") as f:
            self.learner = subprocess.Popen(
                [coea, "learner", *self.learner_args],
                env=self.env,
                stdout=f,
                stderr=subprocess.STDOUT,
            )

    def stop(self) -> None:
        from coea import broker as broker_ctl

        stop_process(self.learner, "learner", self.echo)
        stop_process(self.worker, "worker", self.echo)
        if self.started_broker and not self.keep_broker:
            broker_ctl.down(self.settings, echo=self.echo)
            self.started_broker = False

    # ---- talking to it ---------------------------------------------------------------------
    def get(self, path: str, timeout: float = 5.0):
        from coea.security import auth_headers

        return get_json(self.base_url + path, timeout, auth_headers(self.settings))

    def novel_categories(self, user_id: str) -> dict:
        """The serving endpoint's answer for one user."""
        return self.get("/v1/novel-categories/" + urllib.parse.quote(user_id, safe=""))

    def wait_http(self, path: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.worker is not None and self.worker.poll() is not None:
                raise LiveError(f"the worker exited early; see {self.worker_log}")
            try:
                self.get(path, timeout=2)
                return
            except (OSError, urllib.error.HTTPError):
                time.sleep(0.5)
        raise LiveError(
            f"the worker did not answer {self.base_url}{path} within {timeout:.0f}s; "
            f"see {self.worker_log}"
        )

    def learner_lines(self) -> list[str]:
        if not self.learner_log.exists():
            return []
        return self.learner_log.read_text(errors="replace").splitlines()

    def wait_learner(
        self,
        done: Callable[[list[str]], bool],
        timeout: float,
        on_line: Callable[[str], None] | None = None,
        what: str = "the learner",
    ) -> None:
        """Poll the learner's log until `done(lines)`; echo new 'learner:' lines to `on_line`.

        Raises LiveError when the learner exits first (unless `done` then holds) or on timeout.
        """
        seen, deadline = 0, time.monotonic() + timeout
        while True:
            lines = self.learner_lines()
            for line in lines[seen:]:
                if on_line is not None and line.startswith("learner:"):
                    on_line(line)
            seen = len(lines)
            if done(lines):
                return
            if self.learner is not None and self.learner.poll() is not None:
                lines = self.learner_lines()
                if done(lines):
                    return
                raise LiveError(
                    f"the learner exited (code {self.learner.returncode}) before {what}; "
                    f"see {self.learner_log}"
                )
            if time.monotonic() > deadline:
                raise LiveError(
                    f"timed out after {timeout:.0f}s waiting for {what}; see {self.learner_log}"
                )
            time.sleep(0.5)

    def wait_cycle(self, cycle: int, timeout: float, on_line=None) -> None:
        """Until the learner's log says cycle `cycle` was published."""
        mark = f"learner: cycle {cycle} published:"
        self.wait_learner(
            lambda lines: any(line.startswith(mark) for line in lines),
            timeout,
            on_line,
            what=f"cycle {cycle} to be published",
        )

    def wait_served_version(self, user_id: str, version: int, timeout: float) -> None:
        """Until the worker serves table version >= `version` (it mirrors the topic)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if (self.novel_categories(user_id).get("version") or 0) >= version:
                    return
            except (OSError, urllib.error.HTTPError):
                pass
            time.sleep(0.5)
        raise LiveError(
            f"the worker did not serve table version {version} within "
            f"{timeout:.0f}s; see {self.worker_log}"
        )
