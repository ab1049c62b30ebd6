"""Topic administration through kafka-python: create every topic of `coea.topics`, idempotently."""

from __future__ import annotations

import time
from dataclasses import dataclass

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


def create_topics(
    settings: Settings | None = None, topics: tuple[TopicSpec, ...] = ALL_TOPICS
) -> list[TopicResult]:
    """Create the topics that do not exist yet; existing ones are left as they are.

    On a secured broker a client sees only the topics its ACLs cover; a topic it may neither
    see nor create is reported with ``authorized=False`` (the super user creates them).
    """
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError, TopicAuthorizationFailedError

    settings = settings or get_settings()
    admin = KafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers,
        client_id="coea-admin",
        **kafka_python_options(settings),
    )
    try:
        existing = set(admin.list_topics())
        results = []
        for spec in topics:
            name = spec.name(settings)
            parts = spec.partitions or settings.topic_partitions
            created = False
            if name not in existing:
                try:
                    admin.create_topics(
                        [NewTopic(name, parts, 1, topic_configs=spec.config())], timeout_ms=15000
                    )
                    created = True
                except TopicAlreadyExistsError:
                    pass
                except TopicAuthorizationFailedError:
                    results.append(TopicResult(name, False, parts, spec.cleanup_policy, False))
                    continue
            results.append(TopicResult(name, created, parts, spec.cleanup_policy))
        return results
    finally:
        admin.close()


def describe_topic_configs(
    names: list[str], settings: Settings | None = None, settle_s: float = 10.0
) -> dict[str, dict]:
    """Cleanup policy and partition count of existing topics (for status and tests).

    A topic created moments ago can be described with no partitions (or an error code)
    until its leaders are elected: such answers are asked again for up to `settle_s`.
    """
    from kafka import KafkaAdminClient
    from kafka.admin import ConfigResource, ConfigResourceType

    settings = settings or get_settings()
    admin = KafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers,
        client_id="coea-admin",
        **kafka_python_options(settings),
    )
    try:
        out: dict[str, dict] = {n: {} for n in names}
        deadline = time.monotonic() + settle_s
        while True:
            metas = admin.describe_topics(names)
            settled = all(m.get("error_code", 0) == 0 and m["partitions"] for m in metas)
            if settled or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        for meta in metas:
            out[meta["name"]]["partitions"] = len(meta["partitions"])
        resources = [ConfigResource(ConfigResourceType.TOPIC, n) for n in names]
        configs = admin.describe_configs(resources)["topic"]
        for name, entries in configs.items():
            out[name]["cleanup.policy"] = entries["cleanup.policy"]["value"]
        return out
    finally:
        admin.close()
