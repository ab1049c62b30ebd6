"""`coea learner`: the consumer-group process that turns training windows into table versions.

Loop: poll `training-windows`, add each record to D_k (WindowStore), assign CSIDs to users
seen for the first time (nearest group, between refits) and publish them, and when the
CycleTrigger says so run a cycle: CycleEngine.run -> write the cycle durably -> publish user
groups and table version k -> mark published -> commit offsets. A restart resumes from the
newest complete cycle (see learners/cycle_store.py).

Everything the learner publishes goes through one transactional producer (the deployment's
`coea.table_io.publisher_id`), opened when the learner starts: a second learner that starts
later fences this one, whose next publish then fails; it logs why and exits with
`FENCED_EXIT` instead of writing.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from coea.ops import health
from coea.schemas import TrainingWindow, UserGroup
from coea.security import kafka_python_options
from coea.settings import Settings, get_settings
from coea.table import table_key, version_records
from coea.table_io import Batch, PublisherFenced, open_publisher, publish_transaction
from coea.topics import ITEMS, NOVEL_CATEGORIES, TRAINING_WINDOWS, USER_GROUPS
from learners import cycle_store
from learners import probes as learner_probes
from learners.dataset import WindowStore
from learners.engine import CycleEngine, CycleOutput, EngineConfig, NotEnoughData
from learners.metrics import LearnerFacts, LearnerMetrics, group_sizes
from learners.schedule import CycleTrigger

log = logging.getLogger(__name__)


def now_ms() -> int:
    return int(time.time() * 1000)


def read_categories(settings: Settings, timeout_s: float = 30.0) -> dict[str, str]:
    """item -> category from the compacted item catalogue topic (read to its current end).

    A record that is not a valid ItemRecord is skipped and counted in a warning: one bad
    catalogue entry must not stop every cycle."""
    from pydantic import ValidationError

    from coea.schemas import ItemRecord
    from coea.topic_io import read_to_end

    out: dict[str, str] = {}
    bad, first_bad = 0, ""
    try:
        for m in read_to_end(settings, ITEMS.name(settings), timeout_s):
            if m.value is None:
                continue
            try:
                rec = ItemRecord.model_validate_json(m.value)
            except ValidationError as exc:
                bad += 1
                first_bad = first_bad or f"{m.partition}:{m.offset}: {exc.errors()[0]['msg']}"
                continue
            out[rec.item_id] = rec.category
    except TimeoutError as exc:  # cycles go on with the catalogue read so far
        log.warning("item catalogue: %s; %d items read", exc, len(out))
    if bad:
        log.warning("item catalogue: %d malformed record(s) skipped (first at %s)", bad, first_bad)
    return out


#: Exit status of a learner fenced by another learner of the same deployment.
FENCED_EXIT = 3


class LearnerFenced(SystemExit):
    """Another learner of this deployment opened the table's publisher after this one: this
    learner must publish nothing more and stop (exit status `FENCED_EXIT`)."""

    def __init__(self, message: str):
        super().__init__(FENCED_EXIT)
        self.message = message

    def __str__(self) -> str:
        return self.message


class StopRequested(BaseException):
    """SIGTERM arrived while a cycle's models trained: the cycle is abandoned (nothing of it
    is recorded or published; the next start runs it again from the last complete cycle, as
    after a kill). A BaseException, like KeyboardInterrupt, so no `except Exception` in the
    training code swallows it."""


def _tp(topic: str, partition: int):
    from kafka import TopicPartition

    return TopicPartition(topic, partition)


class Learner:
    """One learner process. `run()` returns a summary when asked to stop."""

    def __init__(
        self,
        settings: Settings | None = None,
        engine_config: EngineConfig | None = None,
        until_cycle: int | None = None,
        exit_idle_s: float | None = None,
        echo: Callable[[str], None] = print,
    ):
        self.settings = s = settings or get_settings()
        self.root = Path(s.artifacts_dir) / "learner"
        self.engine = CycleEngine(self.root, engine_config or EngineConfig(seed=s.seed))
        self.until_cycle, self.exit_idle_s, self.echo = until_cycle, exit_idle_s, echo
        self.trigger = CycleTrigger(
            every_windows=s.learner_cycle_windows,
            every_minutes=s.learner_cycle_minutes,
            drift=s.learner_drift,
            idle_seconds=s.learner_idle_seconds,
        )
        self.store = WindowStore()
        self.cycle = 0
        self.version = 0  # the last table version this learner published (or found published)
        self.offsets: dict[int, int] = {}
        self.groups: dict[str, UserGroup] = {}
        self.served: dict[str, set[str]] = {}
        self.prev_keys: list[str] = []
        self.cycles_run = 0
        self._stop = False
        self._interruptible = False  # True while the engine trains: SIGTERM abandons the cycle
        self._unpublished: cycle_store.CycleRecord | None = None
        self.metrics = LearnerMetrics(self.facts)
        self.last_tick = time.monotonic()  # the poll loop's last turn (liveness)
        self.cycle_started: float | None = None  # monotonic start of the running cycle
        self.lag: dict[int, int] = {}
        self.publisher = None  # the transactional producer (open_publisher), opened on first use

    # ---- recovery ----------------------------------------------------------------------
    def recover(self) -> None:
        """Resume from the newest complete cycle; finish its publishing if it was cut short."""
        rec = cycle_store.latest_cycle(self.root)
        if rec is None:
            self.engine.reset()
            return
        m = rec.manifest
        self.cycle, self.store = rec.cycle, rec.store
        self.version = m.get("version", rec.cycle)
        self.offsets = {int(p): o for p, o in m["offsets"].items()}
        self.engine.restore(rec.cycle, Path(m["dsie_dir"]))
        self.groups = {a["user_id"]: UserGroup.model_validate(a) for a in rec.assignments}
        self._remember_table(rec.rows)
        self.trigger.reset(time.monotonic(), carry_open=False)
        self.trigger.carry(m.get("open_window"))
        self.echo(f"learner: resumed after cycle {rec.cycle} (offsets {self.offsets})")
        if not rec.published:
            self._unpublished = rec
        else:
            self.prev_keys = [r.key for r in rec.rows]

    def _finish_unpublished(self) -> None:
        rec = getattr(self, "_unpublished", None)
        if rec is None:
            return
        self.echo(f"learner: cycle {rec.cycle} was not fully published; publishing it again")
        previous = cycle_store.complete_cycles(self.root)
        earlier = [c for c in previous if c < rec.cycle]
        self.prev_keys = (
            [r.key for r in cycle_store.load_cycle(self.root, earlier[-1]).rows] if earlier else []
        )
        self._publish(rec.cycle, rec.rows, rec.folder, rec.manifest)
        self.prev_keys = [r.key for r in rec.rows]
        self._unpublished = None

    def _number_after_topic(self) -> None:
        """Table versions only grow: start numbering after the highest version on the table
        topic (rows or markers, complete or not), so a learner that lost its artifacts, or a
        second one started by mistake, never publishes a version readers already passed."""
        from coea.table_io import read_table

        highest = read_table(self.settings).highest
        if highest > self.version:
            self.echo(
                f"learner: the table topic already holds version {highest}; "
                f"the next version is {highest + 1}"
            )
            self.version = highest

    # ---- the loop ----------------------------------------------------------------------
    def run(self) -> dict:
        from kafka import KafkaConsumer

        s = self.settings
        signal.signal(signal.SIGTERM, self._on_sigterm)
        # First of all, so a learner of this deployment started earlier is fenced from now
        # on and a transaction a killed one left open is aborted before the topic is read.
        self.open_publisher()
        self.recover()
        self._number_after_topic()
        probes = learner_probes.start(self)
        topic = TRAINING_WINDOWS.name(s)
        consumer = KafkaConsumer(
            bootstrap_servers=s.bootstrap_servers,
            group_id=s.learner_group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **kafka_python_options(s),
        )
        self.consumer = consumer
        try:
            self._assign_all(consumer, topic)
            self._finish_unpublished()
            if self.cycle:
                self.metrics.table_published(self.cycle, len(self.served))
            last_record = time.monotonic()
            while not self._stop and not self._done():
                self.last_tick = time.monotonic()
                batch = consumer.poll(timeout_ms=500, max_records=5_000)
                self._observe_lag(consumer)
                records = [m for msgs in batch.values() for m in msgs]
                if records:
                    last_record = time.monotonic()
                    self._ingest(consumer, records)
                    continue
                reason = self.trigger.due(time.monotonic())
                if reason:
                    self._run_cycle(reason)
                idle = time.monotonic() - last_record
                if self.exit_idle_s and idle > self.exit_idle_s and not self.trigger.pending:
                    self.echo(f"learner: no new windows for {idle:.0f}s; stopping")
                    break
        except StopRequested:
            self.echo(
                f"learner: SIGTERM during cycle {self.cycle + 1}'s training; stopping without "
                f"it (nothing of it published; the next start runs it again after cycle "
                f"{self.cycle})"
            )
        finally:
            consumer.close()
            if probes is not None:
                probes.close()
            self.close_publisher()
        return {"cycle": self.cycle, "cycles_run": self.cycles_run, "records": self.store.records}

    def _assign_all(self, consumer, topic: str, wait_s: float = 60.0) -> None:
        """Take every partition of `topic` by manual assignment and position each where the
        learner's own offsets say (the cycle manifest is the source of truth), or at its
        beginning. The learner is one process per deployment, so it joins no group
        rebalance: a rebalance that a metadata change starts while a cycle trains can leave
        a group member without its partition (the group id is kept for committed offsets,
        which lag monitoring reads). A just-created topic takes a moment to appear."""
        deadline = time.monotonic() + wait_s
        while not (parts := consumer.partitions_for_topic(topic)) and not self._stop:
            if time.monotonic() > deadline:
                raise RuntimeError(f"topic {topic} has no partitions after {wait_s:.0f}s")
            time.sleep(0.2)
        assigned = [_tp(topic, p) for p in sorted(parts or ())]
        consumer.assign(assigned)
        for tp in assigned:
            if tp.partition in self.offsets:
                consumer.seek(tp, self.offsets[tp.partition])
            else:
                consumer.seek_to_beginning(tp)

    def _done(self) -> bool:
        return bool(self.until_cycle) and self.cycle >= self.until_cycle

    def _ingest(self, consumer, records: Sequence) -> None:
        """Add records in order; a window or drift cut runs the cycle before the record."""
        new_users: list = []
        for i, m in enumerate(records):
            tw = TrainingWindow.model_validate_json(m.value)
            if self.store.is_duplicate(tw):  # re-sent by the stream after a crash
                self.store.duplicates += 1
                self.offsets[m.partition] = m.offset + 1
                continue
            reason = self.trigger.before_record(tw.window_id)
            if reason:
                self._assign_new(new_users)
                self._run_cycle(reason)
                if self._done() or self._stop:
                    self._rewind(consumer, records[i:])
                    return
            prev = self.store.users.get(tw.user_id)
            self.trigger.observe(tw.window_id, time.monotonic(), self._uptake(prev, tw))
            self.store.add(tw)
            self.offsets[m.partition] = m.offset + 1
            if tw.user_id not in self.groups:
                new_users.append(self.store.users[tw.user_id])
        self._assign_new(new_users)

    def _rewind(self, consumer, unprocessed: Sequence) -> None:
        """Put the consumer back on the first record not added (we are stopping)."""
        for m in unprocessed:
            tp = _tp(m.topic, m.partition)
            consumer.seek(tp, min(m.offset, self.offsets.get(m.partition, m.offset)))

    def _uptake(self, prev, tw: TrainingWindow) -> list[bool] | None:
        """For drift: was each newly clicked category among those served to the user?"""
        if prev is None or tw.user_id not in self.groups or not self.served:
            return None
        key = table_key(self.groups[tw.user_id].group, prev.short_set)
        served = self.served.get(key, set())
        return [c in served for c in tw.positives if c not in prev.short_set]

    def _assign_new(self, users: list) -> None:
        fresh = [u for u in users if u.user_id not in self.groups]
        assigned = self.engine.assign(fresh)
        if assigned:
            self._publish_groups(assigned)
        users.clear()

    # ---- operability: metrics and probes (learners/probes.py) --------------------------
    def facts(self) -> LearnerFacts:
        """What a metrics scrape reads (called from the probe server's thread)."""
        return LearnerFacts(
            cycle=self.cycle,
            ready=self.readiness()["ok"],
            records=self.store.records,
            duplicates=self.store.duplicates,
            users=len(self.store.users),
            group_sizes=group_sizes(g.group for g in list(self.groups.values())),
            lag=dict(self.lag),
        )

    def liveness(self) -> dict:
        return health.learner_live(
            time.monotonic(),
            self.last_tick,
            self.cycle_started,
            self.settings.learner_live_timeout_s,
        )

    def readiness(self) -> dict:
        return health.learner_ready(self.cycle, self._unpublished is not None)

    def render_metrics(self) -> bytes:
        return self.metrics.render()

    def _observe_lag(self, consumer) -> None:
        """Records between each assigned partition's end and the consumer's position."""
        lag = {}
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is not None:  # known after a fetch, when the position is known too
                lag[tp.partition] = max(0, highwater - consumer.position(tp))
        self.lag = lag

    # ---- cycles ------------------------------------------------------------------------
    def _on_sigterm(self, *_: object) -> None:
        """Stop at the next turn of the loop; while the engine trains (minutes), stop now."""
        self._stop = True
        if self._interruptible:
            self._interruptible = False
            raise StopRequested

    def _run_cycle(self, reason: str) -> None:
        self.cycle_started = time.monotonic()
        try:
            self._cycle(reason)
        finally:
            self.cycle_started, self.last_tick = None, time.monotonic()

    def _cycle(self, reason: str) -> None:
        k = self.cycle + 1
        t0 = time.monotonic()
        self.echo(
            f"learner: cycle {k} ({reason}) on {len(self.store.users)} users, "
            f"{self.store.records} window records"
        )
        evicted = self.store.evict_idle(self.settings.learner_user_horizon_windows)
        if evicted:
            self.echo(f"learner: {evicted} users idle for over the horizon forgotten")
        categories = sorted(set(read_categories(self.settings).values()) | self._seen_categories())
        t_catalogue = time.monotonic()
        self._interruptible = True
        try:
            if self._stop:  # SIGTERM came just before the training started
                raise StopRequested
            out, dsie_dir = self.engine.run(self.store, k, categories)
        except NotEnoughData as exc:
            self.metrics.postponed.inc()
            self.echo(f"learner: cycle {k} postponed: {exc}; waiting for more windows")
            self.trigger.reset(time.monotonic(), carry_open=reason != "windows")
            return
        finally:
            self._interruptible = False
        t_engine = time.monotonic()
        carry = reason != "windows"
        open_window = self.trigger.open_window if carry else None
        manifest = {
            "offsets": {str(p): o for p, o in self.offsets.items()},
            "reason": reason,
            "dsie_dir": str(dsie_dir),
            "dsie_version": out.dsie_version,
            "default_group": out.default_group,
            "open_window": open_window,
            "metrics": out.metrics,
            "created_ms": now_ms(),
            "version": self.version + 1,
        }
        groups = [self._group_record(a, out) for a in out.assignments]
        folder = cycle_store.write_cycle(
            self.root, k, self.store, out.rows, [g.model_dump() for g in groups], manifest
        )
        self.groups = {g.user_id: g for g in groups}
        t_persist = time.monotonic()
        self._publish(k, out.rows, folder, manifest)
        t_publish = time.monotonic()
        self.prev_keys = [r.key for r in out.rows]
        self.cycle, self.cycles_run = k, self.cycles_run + 1
        self.trigger.reset(time.monotonic(), carry_open=carry)
        self.echo(
            f"learner: cycle {k} published: {len(out.rows)} rows, aligned share "
            f"{out.metrics.get('aligned_share', 0):.2f}, {time.monotonic() - t0:.1f}s"
        )
        stages = {
            "catalogue": t_catalogue - t0,
            "engine": t_engine - t_catalogue,
            "persist": t_persist - t_engine,
            "publish": t_publish - t_persist,
        }
        self.metrics.cycle_done(
            reason, k, len(out.rows), out.metrics, stages, t_publish - t0, time.time()
        )

    def _group_record(self, a, out: CycleOutput) -> UserGroup:
        return UserGroup(
            user_id=a.user_id,
            csid=list(a.csid),
            group=a.group,
            model_version=out.dsie_version,
            ts=now_ms(),
        )

    # ---- publishing: one transaction per version (and per batch of new users' groups) ----
    def open_publisher(self) -> None:
        """Open (and initialise) the transactional producer if it is not open: any publisher
        of this deployment opened before is fenced from now on."""
        if self.publisher is None:
            self.publisher = open_publisher(self.settings)

    def close_publisher(self) -> None:
        if self.publisher is not None:
            self.publisher.close(timeout=10)
            self.publisher = None

    def _transaction(self, batches: Sequence[Batch]) -> None:
        """Publish `batches` in one transaction. Fenced by another learner: log it, close
        the producer and raise LearnerFenced (nothing of the transaction is visible)."""
        self.open_publisher()
        try:
            publish_transaction(self.publisher, batches)
        except PublisherFenced as exc:
            msg = (
                f"learner: fenced: another learner of this deployment took over the table "
                f"(transactional id {self.publisher.config['transactional_id']!r}); this one "
                f"publishes nothing more and stops with exit status {FENCED_EXIT} ({exc})"
            )
            log.error(msg)
            self.echo(msg)
            self.metrics.publish_failures.inc()
            self._stop = True
            with contextlib.suppress(Exception):
                self.close_publisher()
            raise LearnerFenced(msg) from exc

    def _publish(self, k: int, rows, folder: Path, manifest: dict) -> None:
        try:
            self._send_version(k, rows, manifest)
        except Exception:
            self.metrics.publish_failures.inc()
            raise
        cycle_store.mark_published(folder)
        self.version = max(self.version, manifest.get("version", k))
        self._commit()
        self._remember_table(rows)
        self.metrics.table_published(k, len(rows))

    def _send_version(self, k: int, rows, manifest: dict) -> None:
        """User groups, then table version k (rows, marker, tombstones), in one transaction."""
        groups = list(self.groups.values())
        version = manifest.get("version", k)
        recs = version_records(
            rows,
            version,
            k,
            f"{manifest['dsie_version']}/pco-{k - 1}",
            manifest["created_ms"],
            previous_keys=self.prev_keys,
            default_group=manifest["default_group"],
            exclude_history=self.engine.config.pco.exclude_history,
            fill_to=self.engine.config.pco.fill_to,
        )
        table = NOVEL_CATEGORIES.name(self.settings)
        self._transaction(
            [self._groups_batch(groups), (table, [(key.encode(), v) for key, v in recs], 0)]
        )

    def _commit(self) -> None:
        consumer = getattr(self, "consumer", None)
        if consumer is None or not self.offsets:
            return
        from kafka.errors import KafkaError
        from kafka.structs import OffsetAndMetadata

        topic = TRAINING_WINDOWS.name(self.settings)
        offsets = {_tp(topic, p): OffsetAndMetadata(o, "", -1) for p, o in self.offsets.items()}
        try:
            consumer.commit(offsets)
        except KafkaError as exc:
            # Not fatal: a restart resumes from the offsets in the cycle manifest, which is the
            # source of truth; committed offsets are for lag monitoring and other tools.
            self.echo(f"learner: warning: offset commit failed ({exc}); manifest offsets stand")

    def _remember_table(self, rows) -> None:
        self.served = {r.key: {c for c, _ in r.categories} for r in rows}

    def _publish_groups(self, assigned) -> None:
        version = self.engine.dsie.version if self.engine.dsie else "none"
        recs = [
            UserGroup(
                user_id=a.user_id,
                csid=list(a.csid),
                group=a.group,
                model_version=version,
                ts=now_ms(),
            )
            for a in assigned
        ]
        self.groups.update({r.user_id: r for r in recs})
        self._send_groups(recs)

    def _send_groups(self, recs: Sequence[UserGroup]) -> None:
        self._transaction([self._groups_batch(recs)])

    def _groups_batch(self, recs: Sequence[UserGroup]) -> Batch:
        topic = USER_GROUPS.name(self.settings)
        return (topic, [(r.user_id.encode(), r.to_bytes()) for r in recs], None)

    def _seen_categories(self) -> set[str]:
        out: set[str] = set()
        for u in self.store.users.values():
            out |= set(u.short_categories) | set(u.long_categories) | set(u.negatives)
        return out
