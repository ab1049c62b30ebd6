"""Where the worker's names and files live, from settings (no Faust import: the CLI reads
the RocksDB tables with it while a worker runs)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from coea.settings import Settings

USERS_TABLE = "users"  # user_id -> UserState JSON
CLOCKS_TABLE = "window-clocks"  # "p<partition>" -> PartitionWindow JSON
ITEMS_TABLE = "items"  # item_id -> category (global)
GROUPS_TABLE = "user-groups"  # user_id -> UserGroup record (stream_app/serving.py)
NOVEL_TABLE = "novel-categories"  # the table topic's records (global, one partition)


def app_id(settings: Settings) -> str:
    """Faust app id = consumer group and prefix of the changelog topics."""
    return f"{settings.topic_prefix}-stream"


def datadir(settings: Settings) -> Path:
    return Path(settings.data_dir) / "stream"


def table_path(settings: Settings, table: str, partition: int) -> Path:
    """The RocksDB folder of one partition of one table (Faust's layout)."""
    return datadir(settings) / "tables" / f"{table}-{partition}.db"


def changelog_topic(settings: Settings, table: str) -> str:
    return f"{app_id(settings)}-{table}-changelog"


def worker_topics(settings: Settings) -> list[tuple[str, int, dict[str, str]]]:
    """(name, partitions, configs) of the topics Faust creates for the worker: each table's
    changelog (compacted) and the leader assignor's topic. `coea worker` creates them before
    Faust starts, so that on a cluster the group never assigns partitions while a broker's
    metadata does not list a topic created moments before."""
    parts = settings.topic_partitions
    compact = {"cleanup.policy": "compact", **changelog_configs(settings)}
    tables = {USERS_TABLE: parts, CLOCKS_TABLE: parts, ITEMS_TABLE: parts, GROUPS_TABLE: parts}
    tables[NOVEL_TABLE] = 1
    out = [(changelog_topic(settings, table), n, compact) for table, n in tables.items()]
    out.append((f"{app_id(settings)}-__assignor-__leader", 1, changelog_configs(settings)))
    return out


def broker_urls(settings: Settings) -> str:
    """Faust's broker setting: one kafka:// URL per bootstrap address, ';'-separated."""
    return ";".join(f"kafka://{address}" for address in settings.broker_addresses)


def changelog_configs(settings: Settings) -> dict[str, str]:
    """Topic configs of the tables' changelog topics (Faust's `extra_topic_configs`); their
    replication factor is Faust's `topic_replication_factor`."""
    return {"min.insync.replicas": str(settings.topic_min_insync_replicas)}


def advertised_url(settings: Settings) -> str:
    """Where the other workers reach this one (Faust's canonical_url, used to forward a
    request to the worker holding the user): `worker_advertised_url`, or the web host and
    port, with the host name in place of an all-interfaces bind address."""
    if settings.worker_advertised_url:
        return settings.worker_advertised_url.rstrip("/")
    host = settings.worker_web_host
    if host in ("0.0.0.0", "::", ""):
        host = socket.gethostname()
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    return f"http://{host}:{settings.worker_web_port}"


def faust_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments of `faust.App` for these settings (credentials included)."""
    from coea.ops.logs import faust_logging_config, process_secrets
    from coea.security import client_security, faust_credentials

    session = settings.worker_session_timeout_s
    return {
        "broker": broker_urls(settings),
        "broker_credentials": faust_credentials(client_security(settings)),
        "store": settings.worker_store,
        "datadir": str(datadir(settings)),
        "tabledir": str(datadir(settings) / "tables"),
        "topic_partitions": settings.topic_partitions,
        # Every topic Faust creates (changelogs, its internal topics) gets this many replicas.
        "topic_replication_factor": settings.topic_replication_factor,
        "table_standby_replicas": 0,
        "web_host": settings.worker_web_host,
        "web_bind": settings.worker_web_host,
        "web_port": settings.worker_web_port,
        "canonical_url": advertised_url(settings),
        "broker_session_timeout": session,
        "broker_heartbeat_interval": max(session / 4, 0.5),
        "broker_rebalance_timeout": max(session, 10.0),
        "producer_linger": 0.02,
        "producer_acks": -1,  # acks=all: changelogs, windows and dead letters
        "consumer_auto_offset_reset": "earliest",
        "logging_config": faust_logging_config(
            settings.log_format, process_secrets(settings), settings.log_file
        ),
    }
