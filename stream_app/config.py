"""Where the worker's names and files live, from settings (no Faust import: the CLI reads
the RocksDB tables with it while a worker runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from coea.settings import Settings

USERS_TABLE = "users"  # user_id -> UserState JSON
CLOCKS_TABLE = "window-clocks"  # "p<partition>" -> PartitionWindow JSON
ITEMS_TABLE = "items"  # item_id -> category (global)


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


def faust_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments of `faust.App` for these settings (credentials included)."""
    from coea.ops.logs import faust_logging_config, process_secrets
    from coea.security import client_security, faust_credentials

    session = settings.worker_session_timeout_s
    return {
        "broker": f"kafka://{settings.bootstrap_servers}",
        "broker_credentials": faust_credentials(client_security(settings)),
        "store": settings.worker_store,
        "datadir": str(datadir(settings)),
        "tabledir": str(datadir(settings) / "tables"),
        "topic_partitions": settings.topic_partitions,
        "topic_replication_factor": 1,
        "table_standby_replicas": 0,
        "web_host": settings.worker_web_host,
        "web_bind": settings.worker_web_host,
        "web_port": settings.worker_web_port,
        "broker_session_timeout": session,
        "broker_heartbeat_interval": max(session / 4, 0.5),
        "broker_rebalance_timeout": max(session, 10.0),
        "producer_linger": 0.02,
        "consumer_auto_offset_reset": "earliest",
        "logging_config": faust_logging_config(
            settings.log_format, process_secrets(settings), settings.log_file
        ),
    }
