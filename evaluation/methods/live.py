"""CoEA through the running system (`coea evaluate --live`): the path is what the worker serves.

The train split is replayed as events into a real broker, `coea worker` turns them into user
state and training windows, `coea learner` runs its cycles and publishes the novel-category
table, and the exploration path of a user is the worker's answer to
`GET /v1/novel-categories/<user>` after the last cycle (every answer is kept in the run
folder's served.json). Nothing of the held-out future is
sent. The schedule mirrors the in-process CoEA (`pco_adapters`) so the two are comparable:

- the train events are cut at the same time quantiles t_0 < ... < t_R (`cutoffs`);
- the events up to t_0 are sent, then an end-of-stream marker closes the window: learner
  cycle 1 fits DSIE and bootstraps PCO (the paper's cycle 0, in-process cycle 0); the events
  of (t_{k-1}, t_k] plus a marker give learner cycle k + 1 (PCO cycle k, in-process round k);
- one partition per topic and one window per marker, so each marker is exactly one cycle;
- the same seed (COEA_SEED), tau, K, click threshold and category mode as the protocol, and
  the model sizes of `profile` (the learner's `small` profile = the adapters' `fast` plus 20
  groups).

Known differences, by design of the system: the learner fits DSIE on the data of cycle 1
(in-process: on the whole train split), a table row is generated once per (group, C'_short)
key from one of its users (in-process: per user), and a user whose key has no row is served
the group's fallback row (in-process: an empty path, so the base fills the slots).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from evaluation.methods.base import OURS
from evaluation.methods.explorer import BaseProvider, ExplorationMethod
from evaluation.methods.pco_adapters import DEFAULT_ROUNDS, cutoffs, train_log
from evaluation.protocol import TrainSplit

#: Settings of the in-process PCO methods that match each learner profile.
PROFILE_OVERRIDES: dict[str, dict[str, object]] = {
    "default": {},
    "small": {"fast": True, "groups": 20},
}


@dataclass(frozen=True)
class LiveConfig:
    """Where and how the live system runs."""

    out: Path  # run folders (worker/learner logs, RocksDB, artifacts), one per seed
    profile: str = "default"  # the learner's model sizes: default | small
    cycle_timeout_s: float = 3600.0  # longest wait for one learner cycle
    keep_broker: bool = False  # leave a broker this run started running afterwards


def chunks_at(events: Sequence, times: Sequence[int]) -> list[list]:
    """Events (time-ordered) cut at t_0 < ... < t_R: [.. t_0], (t_0, t_1], ..., (t_R-1, t_R]."""
    out: list[list] = [[] for _ in times]
    k = 0
    for ev in events:
        while k < len(times) - 1 and ev.ts > times[k]:
            k += 1
        out[k].append(ev)
    return out


def learner_env(train: TrainSplit, seed: int, profile: str, tau: int) -> dict[str, str]:
    """COEA_* settings that make the stream and learner follow the protocol's choices."""
    cfg = train.config
    return {
        "COEA_SEED": str(seed),
        "COEA_TAU": str(tau),
        "COEA_SHORT_K": str(cfg.short_k),
        "COEA_CLICK_THRESHOLD": str(cfg.click_threshold),
        "COEA_CATEGORY_MODE": train.cmap.mode,
        "COEA_FILTER_UNIT": "category",  # rating data: tau counts clicks per category
        "COEA_TOPIC_PARTITIONS": "1",  # one window per end-of-stream marker
        "COEA_WINDOW_SECONDS": str(10 * 365 * 86400),  # only the markers close windows
        "COEA_WINDOW_IDLE_FLUSH_S": "86400",
        "COEA_WINDOW_CAP": "1000",
        "COEA_LEARNER_PROFILE": profile,
        # A window is complete when the next one starts; the last one of a chunk is closed by
        # the idle trigger: nothing arrives until the next chunk is sent after the cycle.
        "COEA_LEARNER_CYCLE_WINDOWS": "1",
        "COEA_LEARNER_IDLE_SECONDS": "3",
        "COEA_LEARNER_DRIFT": "false",
    }


class LiveCoEA(ExplorationMethod):
    """CoEA's exploration path as served by the running worker after the learner's cycles."""

    kind = OURS

    def __init__(self, provider: BaseProvider, settings, live: LiveConfig) -> None:
        super().__init__(provider, settings.blend)
        self.name = "coea-live"
        self.live = live
        self.rounds = int(settings.pco_rounds or DEFAULT_ROUNDS)
        self.tau = int(settings.pco_overrides.get("tau", 5))
        self.paths: dict[str, list[str]] = {}
        self.info: dict[str, object] = {}

    def fit_path(self, train: TrainSplit, seed: int) -> None:
        from coea.data.events_io import Publisher, ml_catalogue, ml_events
        from evaluation.live_system import LiveSystem

        log = train_log(train)
        times = cutoffs(log, self.rounds)
        events = list(
            ml_events(log, train.config.click_threshold, train.cmap.mode, train.cmap.members)
        )
        chunks = chunks_at(events, times)
        cycles = len(chunks)
        run = time.strftime("%Y%m%d%H%M%S")
        out = self.live.out / f"live-seed{seed}-{run}"
        system = LiveSystem(
            out,
            prefix=f"eval{run}s{seed}",
            env=learner_env(train, seed, self.live.profile, self.tau),
            learner_args=["--until-cycle", str(cycles)],
            keep_broker=self.live.keep_broker,
            echo=lambda m: print(f"live: {m}", flush=True),
        )
        users = sorted(train.sequences)
        start = time.perf_counter()
        with system:
            publisher = Publisher(system.settings)
            try:
                publisher.send_items(ml_catalogue(log, train.cmap.mode))
                for k, chunk in enumerate(chunks, start=1):
                    for ev in chunk:
                        publisher.send_event(ev)
                    publisher.send_flush_markers()
                    system.wait_cycle(k, self.live.cycle_timeout_s)
            finally:
                publisher.close()
            system.wait_served_version(users[0], cycles, 300)
            answers = {u: system.novel_categories(u) for u in users}
        (out / "served.json").write_text(json.dumps(answers, indent=1, sort_keys=True))
        self.paths = {
            u: [c["category"] for c in a.get("categories", [])] for u, a in answers.items()
        }
        self.info = {
            "run_folder": str(out),
            "cycles": cycles,
            "events_sent": len(events),
            "events_per_cycle": [len(c) for c in chunks],
            "served_by_rule": dict(Counter(str(a.get("rule")) for a in answers.values())),
            "live_seconds": round(time.perf_counter() - start, 1),
        }

    def explore(self, users: Sequence[str], n: int) -> dict[str, list[str]]:
        return {u: self.paths.get(u, [])[:n] for u in users}

    def extras(self) -> dict:
        return {**super().extras(), **({"live": self.info} if self.info else {})}
