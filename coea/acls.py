"""What each principal of the secured broker may do, per topic prefix (docs/security.md).

`grants(prefix, learner_group)` is the pure table of permissions; `apply(settings)` writes it
to the broker with kafka-python's admin client, as the super user. Everything not granted
here is refused (the broker runs with allow.everyone.if.no.acl.found=false).
"""

from __future__ import annotations

from dataclasses import dataclass

from coea.settings import Settings
from coea.table_io import publisher_id
from coea.topics import EVENTS, EVENTS_DLQ, ITEMS, NOVEL_CATEGORIES, TRAINING_WINDOWS, USER_GROUPS

#: SASL users of the secured broker. `admin` is the super user (broker, topics, ACLs).
ADMIN = "admin"
WORKER = "worker"
LEARNER = "learner"
TABLE_READER = "table-reader"
REPLAY = "replay"
PRINCIPALS: tuple[str, ...] = (ADMIN, WORKER, LEARNER, TABLE_READER, REPLAY)


@dataclass(frozen=True)
class Grant:
    """ALLOW `operation` on a resource (`TOPIC`, `GROUP` or `TRANSACTIONAL_ID`, literal or
    prefixed) to a user."""

    user: str
    operation: str  # READ, WRITE, DESCRIBE, ALL (Kafka's ACL operation names)
    resource: str  # TOPIC, GROUP or TRANSACTIONAL_ID
    name: str
    prefixed: bool = False


def grants(prefix: str, learner_group: str) -> list[Grant]:
    """The permissions of every principal for the topics under `prefix`."""

    def topic(spec) -> str:
        return f"{prefix}.{spec.suffix}"

    stream = f"{prefix}-stream"  # the worker's Faust app id: its group and changelog topics
    return [
        # worker: events in (and the idle timer's flush markers out), catalogue, serving inputs
        Grant(WORKER, "READ", "TOPIC", topic(EVENTS)),
        Grant(WORKER, "WRITE", "TOPIC", topic(EVENTS)),
        Grant(WORKER, "READ", "TOPIC", topic(ITEMS)),
        Grant(WORKER, "READ", "TOPIC", topic(USER_GROUPS)),
        Grant(WORKER, "READ", "TOPIC", topic(NOVEL_CATEGORIES)),
        Grant(WORKER, "WRITE", "TOPIC", topic(EVENTS_DLQ)),
        Grant(WORKER, "WRITE", "TOPIC", topic(TRAINING_WINDOWS)),
        Grant(WORKER, "ALL", "TOPIC", f"{stream}-", prefixed=True),
        Grant(WORKER, "READ", "GROUP", stream),
        # learner: training windows and the catalogue in, groups and table versions out
        Grant(LEARNER, "READ", "TOPIC", topic(TRAINING_WINDOWS)),
        Grant(LEARNER, "READ", "TOPIC", topic(ITEMS)),
        Grant(LEARNER, "WRITE", "TOPIC", topic(USER_GROUPS)),
        Grant(LEARNER, "WRITE", "TOPIC", topic(NOVEL_CATEGORIES)),
        Grant(LEARNER, "READ", "TOPIC", topic(NOVEL_CATEGORIES)),  # numbers versions after it
        Grant(LEARNER, "READ", "GROUP", learner_group),
        # its transactional producer (one transaction per table version; fences a second one)
        Grant(LEARNER, "WRITE", "TRANSACTIONAL_ID", publisher_id(prefix)),
        Grant(LEARNER, "DESCRIBE", "TRANSACTIONAL_ID", publisher_id(prefix)),
        # a downstream table consumer (coea.table_io.read_table): the table topic only
        Grant(TABLE_READER, "READ", "TOPIC", topic(NOVEL_CATEGORIES)),
        # replay: events (with end-of-stream markers) and the item catalogue
        Grant(REPLAY, "WRITE", "TOPIC", topic(EVENTS)),
        Grant(REPLAY, "WRITE", "TOPIC", topic(ITEMS)),
    ]


def _acl(g: Grant):
    from kafka.admin import (
        ACL,
        ACLOperation,
        ACLPermissionType,
        ACLResourcePatternType,
        ResourcePattern,
        ResourceType,
    )

    pattern = ACLResourcePatternType.PREFIXED if g.prefixed else ACLResourcePatternType.LITERAL
    return ACL(
        principal=f"User:{g.user}",
        host="*",
        operation=ACLOperation[g.operation],
        permission_type=ACLPermissionType.ALLOW,
        resource_pattern=ResourcePattern(ResourceType[g.resource], g.name, pattern),
    )


def apply(settings: Settings) -> int:
    """Create the grants of `settings.topic_prefix` on the broker (idempotent); returns how
    many. `settings` must authenticate as the super user."""
    from kafka import KafkaAdminClient

    from coea.security import kafka_python_options

    wanted = grants(settings.topic_prefix, settings.learner_group)
    admin = KafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers,
        client_id="coea-acls",
        **kafka_python_options(settings),
    )
    try:
        result = admin.create_acls([_acl(g) for g in wanted])
    finally:
        admin.close()
    failed = result.get("failed") or []
    if failed:
        raise RuntimeError(f"creating ACLs failed: {failed}")
    return len(wanted)
