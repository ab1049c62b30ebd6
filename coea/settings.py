"""Runtime settings, read from the environment (prefix ``COEA_``) and an optional config file.

Every setting has a default that works on one machine. Precedence: explicit arguments >
environment variables > the TOML/JSON file named by ``COEA_CONFIG`` (or ``coea.toml`` in the
working directory) > defaults.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    JsonConfigSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

REPO_ROOT = Path(__file__).resolve().parent.parent


def _config_file() -> Path | None:
    name = os.environ.get("COEA_CONFIG")
    if name:
        path = Path(name)
        if not path.is_file():
            raise FileNotFoundError(f"COEA_CONFIG names {path}, which is not a file")
        return path
    default = Path("coea.toml")
    return default if default.is_file() else None


class Settings(BaseSettings):
    """All settings of coea-stream. Field names map to ``COEA_<NAME>`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="COEA_", extra="ignore")

    # --- broker -------------------------------------------------------------------------
    kafka_host: str = Field("127.0.0.1", description="Host the broker listens on and clients use.")
    kafka_port: int = Field(9092, description="Broker client port (of node 1 in a cluster).")
    kafka_controller_port: int = Field(
        9093, description="KRaft controller port (of node 1 in a cluster)."
    )
    kafka_brokers: int = Field(
        1,
        ge=1,
        le=9,
        description="Brokers `coea broker up` starts (KRaft nodes, each broker and controller; "
        "`--brokers` overrides it) and clients bootstrap from: node k listens on kafka_port + "
        "2(k-1), its controller on kafka_controller_port + 2(k-1).",
    )
    kafka_bootstrap: str | None = Field(
        None,
        description="Bootstrap servers of the clients, 'host:port,host:port' (unset: "
        "kafka_host with the client port of each of the kafka_brokers nodes).",
    )
    kafka_home: Path = Field(
        REPO_ROOT / "var" / "kafka",
        description="Where the broker keeps its data (kraft/), logs (logs/) and pid file.",
    )
    kafka_start_timeout_s: float = Field(90.0, description="How long `broker up` waits.")
    kafka_heap: str = Field("512m", description="Broker JVM heap (-Xmx and -Xms).")

    # --- broker security (docs/security.md) --------------------------------------------------
    kafka_security_protocol: Literal["PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT",
        description="How clients talk to the broker; SASL_SSL also makes `coea broker up` "
        "start the secured broker (TLS, SCRAM users, ACLs).",
    )
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = Field(
        "SCRAM-SHA-512", description="SASL mechanism of the clients (SASL_SSL only)."
    )
    kafka_username: str | None = Field(None, description="SASL user of this process.")
    kafka_password: SecretStr | None = Field(
        None, description="SASL password (prefer kafka_password_file); never logged."
    )
    kafka_password_file: Path | None = Field(
        None, description="File holding the SASL password (read when kafka_password is unset)."
    )
    kafka_ssl_cafile: Path | None = Field(
        None, description="PEM file of the CA that signed the broker's certificate."
    )

    # --- topics -------------------------------------------------------------------------
    topic_prefix: str = Field(
        "coea", description="Prefix of every topic name (tests isolate by it)."
    )
    topic_partitions: int = Field(4, description="Partitions of the keyed topics.")
    topic_replication_factor: int = Field(
        1,
        ge=1,
        description="Replicas of every topic the project creates (coea topics create) and of "
        "the worker's changelog topics; at most the number of brokers.",
    )
    topic_min_insync_replicas: int = Field(
        1,
        ge=1,
        description="min.insync.replicas of those topics: an acks=all write succeeds only "
        "with this many replicas in sync (at most topic_replication_factor).",
    )

    # --- stream state (paper sec. 4.2.1, 4.2.4) ------------------------------------------
    tau: int = Field(5, description="Long-term click filter threshold tau (eq. 3).")
    short_k: int = Field(10, description="K: length of the short-term click window.")
    long_cap: int = Field(200, description="Cap on the filtered long-term sequence per user.")
    negatives_cap: int = Field(50, description="Cap on recent exposed-but-unclicked categories.")
    max_event_bytes: int = Field(16_384, description="Larger event payloads go to the DLQ.")
    max_future_skew_s: float = Field(
        86_400.0,
        description="Events whose time is further ahead of the worker's clock go to the DLQ "
        "(0: no bound).",
    )
    dedup_horizon: int = Field(10_000, description="Event ids remembered per user for idempotence.")
    filter_unit: Literal["item", "category"] = Field(
        "item",
        description="What tau counts: 'item' = clicks on the item (paper, click logs); "
        "'category' = clicks on the item's category (rating data such as MovieLens).",
    )
    long_candidates_cap: int = Field(
        1_000, description="Cap on distinct long-term items remembered before filtering."
    )
    click_counts_cap: int = Field(
        2_000, description="Cap on per-item (and per-category) click counters per user."
    )
    features_cap: int = Field(64, description="Cap on sparse feature keys kept per user.")

    # --- training windows (stream_app) ----------------------------------------------------
    window_mode: Literal["time", "count"] = Field(
        "time",
        description="'time': windows of window_seconds of event time; 'count': "
        "windows of window_events events per partition.",
    )
    window_seconds: int = Field(86_400, description="Length of a time window (event time).")
    window_events: int = Field(10_000, description="Events per partition in a count window.")
    window_cap: int = Field(200, description="Cap on positives/negatives per user per window.")
    window_idle_flush_s: float = Field(
        60.0,
        description="Close a partition's open window after this long without events "
        "(wall clock); 0 disables.",
    )

    # --- replay (coea replay) --------------------------------------------------------------
    click_threshold: float = Field(4.0, description="Rating >= this is a click, else an exposure.")
    category_mode: Literal["genre", "genre-combo"] = Field(
        "genre", description="MovieLens category of an item: first genre or all genres joined."
    )

    # --- stream worker (coea worker) ----------------------------------------------------------
    worker_web_host: str = Field("127.0.0.1", description="Host of the worker's web views.")
    worker_web_port: int = Field(6066, description="Port of the worker's web views.")
    worker_advertised_url: str | None = Field(
        None,
        description="URL other workers of the group use to reach this worker's web views (a "
        "request for a user held by another worker is forwarded there). Default: "
        "http://<worker_web_host>:<worker_web_port>, with the machine's host name in place "
        "of an all-interfaces host (0.0.0.0, ::).",
    )
    worker_batch_size: int = Field(1_000, description="Events the worker processes per batch.")
    worker_batch_wait_s: float = Field(0.05, description="Longest wait to fill a batch.")
    worker_session_timeout_s: float = Field(
        10.0, description="Consumer session timeout: how soon a dead worker's partitions move."
    )
    worker_store: str = Field("rocksdb://", description="Faust table store URL.")
    worker_api_token: SecretStr | None = Field(
        None,
        description="Bearer token every web view asks for; required when worker_web_host "
        "is not a loopback address. Never logged.",
    )
    worker_api_token_file: Path | None = Field(
        None, description="File holding the bearer token (read when worker_api_token is unset)."
    )
    worker_private_views: bool = Field(
        True,
        description="Serve /state/<user>/, /stats/ and /debug/ (behind the token when one is "
        "set); false: only the serving endpoint.",
    )

    # --- storage and artifacts -----------------------------------------------------------
    data_dir: Path = Field(REPO_ROOT / "var" / "data", description="Worker state (RocksDB) root.")
    artifacts_dir: Path = Field(REPO_ROOT / "var" / "artifacts", description="Model artifacts.")
    seed: int = Field(0, description="Global random seed.")

    # --- learner (coea learner) -----------------------------------------------------------
    learner_group_id: str | None = Field(
        None,
        description="Consumer group of the learner (default: <topic_prefix>-learner, so "
        "deployments that share a broker under different prefixes never share a group).",
    )
    learner_cycle_windows: int = Field(
        4, description="Run a cycle every N complete training windows."
    )
    learner_cycle_minutes: float = Field(
        0.0, description="Also run a cycle every T minutes of wall clock (0: off; not replayable)."
    )
    learner_idle_seconds: float = Field(
        20.0, description="Close the pending cycle after this long without new windows (0: off)."
    )
    learner_drift: bool = Field(True, description="ADWIN drift on uptake triggers a cycle early.")
    learner_dsie_refit_every: int = Field(
        0, description="Re-fit DSIE every N cycles (0: fit at cycle 1, then re-assign only)."
    )
    learner_max_keys: int = Field(20_000, description="(group, C'_short) keys scored per cycle.")
    learner_user_horizon_windows: int = Field(
        365,
        description="Before each cycle the learner forgets users with no window in this many "
        "windows (0: never), so its memory is bounded by the users active within it.",
    )
    learner_profile: Literal["default", "small"] = Field(
        "default",
        description="Model sizes: 'default' (paper settings) or 'small' (fast demo/tests).",
    )
    learner_checkpoint: Path | None = Field(
        None,
        description="Local Hugging Face checkpoint folder for both LLMs of the learner "
        "(e.g. a Qwen2.5-7B-Instruct download); unset: the built-in model of the profile.",
    )
    learner_device: Literal["cpu", "cuda"] = Field(
        "cpu",
        description="Where the learner trains and scores: 'cpu', or 'cuda' (bf16 mixed "
        "precision; a clear error when no GPU is visible).",
    )

    # --- operations: metrics, probes, logs (docs/operations.md) ----------------------------
    log_format: Literal["text", "json"] = Field(
        "text",
        description="Log lines of the worker and the learner: 'text' (human-readable) or "
        "'json' (one object per line: ts, level, logger, event, message, partition, offset, "
        "cycle, version).",
    )
    log_file: Path | None = Field(
        None, description="Write the worker's log to this file instead of stderr."
    )
    learner_web_host: str = Field(
        "127.0.0.1", description="Host of the learner's /metrics, /healthz and /readyz."
    )
    learner_web_port: int = Field(
        6067,
        description="Port of the learner's /metrics, /healthz and /readyz (0: not served; a "
        "port in use is logged and the learner runs on without them).",
    )
    learner_live_timeout_s: float = Field(
        300.0,
        description="The learner's /healthz fails when its poll loop has not turned for this "
        "long outside a cycle.",
    )

    @property
    def learner_group(self) -> str:
        """The learner's consumer group: `learner_group_id`, or `<topic_prefix>-learner`."""
        return self.learner_group_id or f"{self.topic_prefix}-learner"

    @field_validator("kafka_bootstrap")
    @classmethod
    def _bootstrap_list(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        addresses = [a.strip() for a in value.split(",") if a.strip()]
        for address in addresses:
            host, _, port = address.rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"kafka_bootstrap: {address!r} is not host:port")
        return ",".join(addresses)

    @model_validator(mode="after")
    def _replication_fits(self) -> Settings:
        if self.topic_min_insync_replicas > self.topic_replication_factor:
            raise ValueError(
                f"topic_min_insync_replicas ({self.topic_min_insync_replicas}) is more than "
                f"topic_replication_factor ({self.topic_replication_factor}): no write could "
                "succeed"
            )
        return self

    def node_ports(self, node: int) -> tuple[int, int]:
        """Client and controller port of node `node` (1-based) of the local cluster."""
        step = 2 * (node - 1)
        return self.kafka_port + step, self.kafka_controller_port + step

    @property
    def broker_addresses(self) -> list[str]:
        """The clients' bootstrap addresses, host:port each."""
        if self.kafka_bootstrap:
            return self.kafka_bootstrap.split(",")
        ports = [self.node_ports(k)[0] for k in range(1, self.kafka_brokers + 1)]
        return [f"{self.kafka_host}:{p}" for p in ports]

    @property
    def bootstrap_servers(self) -> str:
        """The bootstrap list as clients take it: 'host:port' or 'host:port,host:port'."""
        return ",".join(self.broker_addresses)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _config_file()
        if path is not None and path.suffix == ".toml":
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        elif path is not None:
            sources.append(JsonConfigSettingsSource(settings_cls, json_file=path))
        return tuple(sources)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return Settings()
