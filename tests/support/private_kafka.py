"""A private Kafka broker or cluster of a test, started by `coea broker up` in a folder of the
test's own on free ports (never the shared development broker's), and faults on it: SIGKILL
one node, stop and start again."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from coea.settings import Settings
from coea.subprocess_env import settings_from_env

COEA = str(Path(sys.executable).with_name("coea"))


def _free_run(count: int) -> int:
    """A port p such that p .. p+count-1 are all free on loopback (below the ephemeral range,
    so no outgoing connection takes one meanwhile)."""
    for _ in range(200):
        base = random.randrange(20_000, 32_000 - count)
        try:
            socks = []
            for port in range(base, base + count):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError(f"no {count} consecutive free ports found")


@dataclass
class PrivateKafka:
    """`brokers` KRaft nodes under `home`: node k on port + 2(k-1) (controller one above)."""

    home: Path
    brokers: int
    env: dict[str, str]  # COEA_* of this cluster, a topic prefix and data dirs of the test
    log: list[str] = field(default_factory=list)  # output of every `coea broker` call

    @property
    def settings(self) -> Settings:
        return settings_from_env(self.env)

    def coea(self, *args: str, timeout_s: float = 300) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [COEA, *args], env=self.env, capture_output=True, text=True, timeout=timeout_s
        )
        self.log.append(f"$ coea {' '.join(args)} -> {proc.returncode}\n{proc.stdout}{proc.stderr}")
        return proc

    def up(self) -> str:
        proc = self.coea("broker", "up", "--brokers", str(self.brokers))
        assert proc.returncode == 0, f"coea broker up failed:\n{proc.stdout}\n{proc.stderr}"
        return proc.stdout

    def down(self) -> str:
        proc = self.coea("broker", "down", timeout_s=120)
        assert proc.returncode == 0, f"coea broker down failed:\n{proc.stdout}\n{proc.stderr}"
        return proc.stdout

    def node_home(self, node: int) -> Path:
        return self.home if self.brokers == 1 else self.home / f"node-{node}"

    def pid(self, node: int) -> int:
        return int((self.node_home(node) / "broker.pid").read_text())

    def kill(self, node: int) -> None:
        """SIGKILL one node: no controlled shutdown, nothing flushed."""
        pid = self.pid(node)
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            state = (Path(f"/proc/{pid}/stat").read_text().split() + ["?"] * 3)[2]
            if state == "Z":
                break
            time.sleep(0.1)

    def leader(self, topic: str, partition: int) -> int:
        """Node id of the leader of one partition."""
        from kafka import KafkaAdminClient

        admin = KafkaAdminClient(bootstrap_servers=self.settings.bootstrap_servers)
        try:
            meta = admin.describe_topics([topic])[0]
            return next(
                p["leader_id"] for p in meta["partitions"] if p["partition_index"] == partition
            )
        finally:
            admin.close()


def start_private_kafka(
    tmp: Path, brokers: int = 1, replication: int = 1, min_isr: int = 1, heap: str = "256m"
) -> PrivateKafka:
    """Start a private broker (or cluster) for one test; `env` also carries a fresh topic
    prefix and data dirs under `tmp`. The caller stops it with `.down()`."""
    port = _free_run(2 * brokers)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COEA_")} | {
        "COEA_KAFKA_HOME": str(tmp / "kafka"),
        "COEA_KAFKA_PORT": str(port),
        "COEA_KAFKA_CONTROLLER_PORT": str(port + 1),
        "COEA_KAFKA_BROKERS": str(brokers),
        "COEA_KAFKA_HEAP": heap,
        "COEA_TOPIC_REPLICATION_FACTOR": str(replication),
        "COEA_TOPIC_MIN_INSYNC_REPLICAS": str(min_isr),
        "COEA_TOPIC_PREFIX": f"f{uuid.uuid4().hex[:10]}",
        "COEA_DATA_DIR": str(tmp / "data"),
        "COEA_ARTIFACTS_DIR": str(tmp / "artifacts"),
    }
    kafka = PrivateKafka(tmp / "kafka", brokers, env)
    try:
        kafka.up()
    except BaseException:
        with contextlib.suppress(Exception):
            kafka.down()  # the nodes that did start must not outlive the test
        raise
    return kafka
