"""Topic administration through kafka-python: create every topic of `coea.topics`, idempotently."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from coea.security import kafka_python_options
from coea.settings import Settings, get_settings
from coea.topics import ALL_TOPICS, TopicSpec


@dataclass(frozen=True)
class TopicResult:
    name: str
    created: bool
    partitions: int
    cleanup_policy: str
    authorized: bool = True  # False: this (secured) client may not see or create it


def replication_configs(settings: Settings) -> dict[str, str]:
    """Topic configs every topic of the project carries: min.insync.replicas from settings
    (with acks=all, a write needs that many replicas in sync)."""
    return {"min.insync.replicas": str(settings.topic_min_insync_replicas)}


@contextmanager
def admin_client(settings: Settings) -> Iterator[Any]:
    """A kafka-python admin client for `settings` (security included), closed on exit."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers,
        client_id="coea-admin",
        **kafka_python_options(settings),
    )
    try:
        yield admin
    finally:
        admin.close()


def create_topics(
    settings: Settings | None = None, topics: tuple[TopicSpec, ...] = ALL_TOPICS
) -> list[TopicResult]:
    """Create the topics that do not exist yet; existing ones are left as they are.

    Each gets `settings.topic_replication_factor` replicas and `topic_min_insync_replicas`.

    On a secured broker a client sees only the topics its ACLs cover; a topic it may neither
    see nor create is reported with ``authorized=False`` (the super user creates them).
    """
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError, TopicAuthorizationFailedError

    settings = settings or get_settings()
    with admin_client(settings) as admin:
        existing = set(admin.list_topics())
        results = []
        for spec in topics:
            name = spec.name(settings)
            parts = spec.partitions or settings.topic_partitions
            created = False
            if name not in existing:
                try:
                    new = NewTopic(
                        name,
                        parts,
                        settings.topic_replication_factor,
                        topic_configs={**spec.config(), **replication_configs(settings)},
                    )
                    admin.create_topics([new], timeout_ms=15000)
                    created = True
                except TopicAlreadyExistsError:
                    pass
                except TopicAuthorizationFailedError:
                    results.append(TopicResult(name, False, parts, spec.cleanup_policy, False))
                    continue
            results.append(TopicResult(name, created, parts, spec.cleanup_policy))
        return results


def create_named_topics(
    settings: Settings, topics: list[tuple[str, int, dict[str, str]]], settle_s: float = 30.0
) -> list[str]:
    """Create topics given as (name, partitions, configs) that do not exist yet, with the
    replication of `settings`; return the names created. Then wait (up to `settle_s`) until
    the cluster's metadata shows every one of them with a leader on each partition, so a
    consumer group that subscribes next sees them on any broker."""
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError, TopicAuthorizationFailedError

    with admin_client(settings) as admin:
        existing = set(admin.list_topics())
        created = []
        for name, parts, configs in topics:
            if name in existing:
                continue
            new = NewTopic(
                name,
                parts,
                settings.topic_replication_factor,
                topic_configs={**configs, **replication_configs(settings)},
            )
            try:
                admin.create_topics([new], timeout_ms=15000)
                created.append(name)
            except TopicAlreadyExistsError:
                pass
            except TopicAuthorizationFailedError:
                return created  # a secured client without the grant: its app creates them
        if created:
            _wait_for_leaders(admin, created, settle_s)
        return created


def _wait_for_leaders(admin, names: list[str], settle_s: float) -> None:
    """Until a few metadata answers in a row (from whichever broker) list every partition of
    `names` with a leader, or `settle_s` passes."""
    deadline = time.monotonic() + settle_s
    in_a_row = 0
    while in_a_row < 3 and time.monotonic() < deadline:
        metas = admin.describe_topics(names)
        ok = all(
            m.get("error_code", 0) == 0
            and m["partitions"]
            and all(p["leader_id"] >= 0 for p in m["partitions"])
            for m in metas
        )
        in_a_row = in_a_row + 1 if ok else 0
        time.sleep(0.2)


def describe_topic_configs(
    names: list[str], settings: Settings | None = None, settle_s: float = 10.0
) -> dict[str, dict]:
    """Cleanup policy, min.insync.replicas, partition count and replication of existing
    topics (for status and tests): ``replicas`` and ``in_sync`` are the fewest replicas and
    in-sync replicas of any of the topic's partitions.

    A topic created moments ago can be described with no partitions (or an error code)
    until its leaders are elected: such answers are asked again for up to `settle_s`.
    """
    from kafka.admin import ConfigResource, ConfigResourceType

    settings = settings or get_settings()
    with admin_client(settings) as admin:
        out: dict[str, dict] = {n: {} for n in names}
        deadline = time.monotonic() + settle_s
        while True:
            metas = admin.describe_topics(names)
            settled = all(m.get("error_code", 0) == 0 and m["partitions"] for m in metas)
            if settled or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        for meta in metas:
            parts = meta["partitions"]
            out[meta["name"]]["partitions"] = len(parts)
            out[meta["name"]]["replicas"] = min((len(p["replica_nodes"]) for p in parts), default=0)
            out[meta["name"]]["in_sync"] = min((len(p["isr_nodes"]) for p in parts), default=0)
        resources = [ConfigResource(ConfigResourceType.TOPIC, n) for n in names]
        configs = admin.describe_configs(resources)["topic"]
        for name, entries in configs.items():
            out[name]["cleanup.policy"] = entries["cleanup.policy"]["value"]
            out[name]["min.insync.replicas"] = int(entries["min.insync.replicas"]["value"])
        return out
