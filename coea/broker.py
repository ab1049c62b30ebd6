"""Start, stop and query the project's own Apache Kafka (KRaft) broker, or a local cluster.

The jars come from Maven Central through ``infra/kafka/fetch.sh`` (cached in
``infra/kafka/.cache/libs``); data, logs and the pid file live under ``settings.kafka_home``.
One broker (the default) keeps them there directly; a cluster of N brokers keeps one folder per
node, ``node-1`` .. ``node-N``, each node a broker and a voter of the controller quorum of all
N, on its own ports (`Settings.node_ports`). Every operation is idempotent: ``up`` on a
running broker and ``down`` on a stopped one are harmless; ``up`` on a cluster with a stopped
node starts that node.
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from coea.acls import ADMIN
from coea.broker_security import (
    SecuredHome,
    ensure_credentials,
    is_secured,
    principal_settings,
    render_config,
    scram_args,
    write_private,
)
from coea.security import kafka_python_options
from coea.settings import REPO_ROOT, Settings, get_settings

INFRA = REPO_ROOT / "infra" / "kafka"
LIBS = INFRA / ".cache" / "libs"
SECURED_TEMPLATE = INFRA / "server-secured.properties.template"


class BrokerError(RuntimeError):
    """The broker could not be fetched, started or reached; the message says what to do."""


@dataclass(frozen=True)
class BrokerPaths:
    home: Path

    @property
    def data(self) -> Path:
        return self.home / "kraft"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def pid_file(self) -> Path:
        return self.home / "broker.pid"

    @property
    def config(self) -> Path:
        return self.home / "server.properties"

    @property
    def stdout(self) -> Path:
        return self.logs / "stdout.log"


def _paths(settings: Settings) -> BrokerPaths:
    return BrokerPaths(Path(settings.kafka_home))


@dataclass(frozen=True)
class Node:
    """One KRaft node (broker and controller) of the local cluster."""

    node_id: int
    host: str
    port: int
    controller_port: int
    paths: BrokerPaths

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def cluster_size(settings: Settings) -> int | None:
    """How many brokers the storage under kafka_home was made for (None: nothing there)."""
    home = Path(settings.kafka_home)
    nodes = [d for d in home.glob("node-*") if d.name[5:].isdigit()] if home.is_dir() else []
    if nodes:
        return len(nodes)
    single = _paths(settings)
    if single.config.exists() or (single.data / "meta.properties").exists():
        return 1
    return None


def nodes(settings: Settings, brokers: int | None = None) -> list[Node]:
    """The nodes of a cluster of `brokers` (default: what kafka_home holds, else
    settings.kafka_brokers)."""
    n = brokers or cluster_size(settings) or settings.kafka_brokers
    home = Path(settings.kafka_home)
    if n == 1:
        paths = _paths(settings)
        return [
            Node(1, settings.kafka_host, settings.kafka_port, settings.kafka_controller_port, paths)
        ]
    out = []
    for k in range(1, n + 1):
        port, controller = settings.node_ports(k)
        out.append(Node(k, settings.kafka_host, port, controller, BrokerPaths(home / f"node-{k}")))
    return out


def _node_settings(settings: Settings, node: Node) -> Settings:
    """`settings` whose clients talk to `node` only."""
    return settings.model_copy(update={"kafka_bootstrap": node.address})


def _cluster_settings(settings: Settings, cluster: list[Node]) -> Settings:
    """`settings` whose clients bootstrap from every node of `cluster`."""
    addresses = ",".join(n.address for n in cluster)
    return settings.model_copy(update={"kafka_bootstrap": addresses})


def fetch_jars() -> Path:
    """Make sure the broker jars are cached; returns the libs folder."""
    if not shutil.which("java"):
        raise BrokerError(
            "java is not on PATH: the Kafka broker needs Java 17+ "
            "(apt-get install openjdk-17-jre-headless)"
        )
    proc = subprocess.run(["bash", str(INFRA / "fetch.sh")], capture_output=True, text=True)
    if proc.returncode != 0:
        raise BrokerError(f"fetching the Kafka jars failed:\n{proc.stdout}{proc.stderr}")
    return LIBS


def _java(settings: Settings, main: str, *args: str, paths: BrokerPaths) -> list[str]:
    return [
        "java",
        f"-Xmx{settings.kafka_heap}",
        f"-Xms{settings.kafka_heap}",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dkafka.logs.dir={paths.logs}",
        f"-Dlog4j2.configurationFile={INFRA / 'log4j2.properties'}",
        "-cp",
        f"{LIBS}/*",
        main,
        *args,
    ]


def _render_config(settings: Settings, node: Node, cluster: list[Node]) -> None:
    paths = node.paths
    home = SecuredHome(paths.home)
    formatted = (paths.data / "meta.properties").exists()
    if is_secured(settings):
        if formatted and not home.is_secured():
            raise BrokerError(
                f"{paths.home} holds a plaintext broker; a secured broker needs its own "
                "COEA_KAFKA_HOME (and ports)"
            )
        ensure_credentials(home, ["localhost", "127.0.0.1", settings.kafka_host])
        template = SECURED_TEMPLATE.read_text()
        write_private(paths.config, render_config(template, settings, paths.data, home))
        return
    if home.is_secured():
        raise BrokerError(
            f"{paths.home} holds a secured broker: set COEA_KAFKA_SECURITY_PROTOCOL=SASL_SSL "
            "(docs/security.md) or use another COEA_KAFKA_HOME"
        )
    n = len(cluster)
    text = (
        (INFRA / "server.properties.template")
        .read_text()
        .format(
            node_id=node.node_id,
            voters=",".join(f"{c.node_id}@127.0.0.1:{c.controller_port}" for c in cluster),
            port=node.port,
            controller_port=node.controller_port,
            data_dir=paths.data,
            replication=min(n, 3),
            min_isr=internal_min_isr(n),
        )
    )
    paths.config.write_text(text)


def internal_min_isr(brokers: int) -> int:
    """min.insync.replicas of the broker's internal topics and its default for other topics
    on a cluster of `brokers`: 1 for one or two brokers, 2 from three on."""
    return 2 if brokers >= 3 else 1


def _new_cluster_id() -> str:
    """A random KRaft cluster id: 16 bytes, URL-safe base64 without padding, never starting
    with '-' (the storage tool would read such an id as an option; Kafka's own random-uuid
    draws again in that case too)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


def _cluster_id(home: Path) -> str:
    """The id every node of the cluster under `home` is formatted with (made once)."""
    path = home / "cluster.id"
    if not path.exists():
        path.write_text(_new_cluster_id() + "\n")
    return path.read_text().strip()


def _format_storage(settings: Settings, paths: BrokerPaths, cluster_id: str) -> None:
    if (paths.data / "meta.properties").exists():
        return
    cmd = _java(
        settings,
        "kafka.tools.StorageTool",
        "format",
        f"--cluster-id={cluster_id}",
        "-c",
        str(paths.config),
        *_scram_users(settings, paths),
        paths=paths,
    )
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BrokerError(f"formatting KRaft storage failed:\n{proc.stdout}{proc.stderr}")


def _scram_users(settings: Settings, paths: BrokerPaths) -> list[str]:
    """The SCRAM users to create at format time (none for the plaintext broker)."""
    if not is_secured(settings):
        return []
    home = SecuredHome(paths.home)
    return scram_args(ensure_credentials(home, ["localhost", "127.0.0.1", settings.kafka_host]))


def ops_settings(settings: Settings) -> Settings:
    """The settings broker operations use: the super user's for a secured broker (its
    credentials live in the broker's home), the given ones otherwise."""
    return principal_settings(settings, ADMIN) if is_secured(settings) else settings


def provision(settings: Settings, echo=print) -> None:
    """Secured broker: create the topics of the configured prefix and grant the ACLs."""
    if not is_secured(settings):
        return
    from coea import acls
    from coea.admin import create_topics

    admin = ops_settings(settings)
    create_topics(admin)
    n = acls.apply(admin)
    echo(f"secured: topics {settings.topic_prefix}.* and {n} ACLs in place (docs/security.md)")


def _pid(paths: BrokerPaths) -> int | None:
    try:
        pid = int(paths.pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    # A zombie (exited child not yet reaped) is not a running broker.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
        if state == "Z":
            return None
    except (FileNotFoundError, IndexError):
        pass
    return pid


def answers(settings: Settings | None = None, timeout_s: float = 3.0) -> bool:
    """True when a Kafka broker answers a metadata request at the configured address."""
    settings = settings or get_settings()
    if not _listening(settings):
        return False
    from kafka import KafkaAdminClient  # imported late: `coea --help` stays fast
    from kafka.errors import KafkaError

    security = kafka_python_options(settings)  # a configuration error is raised, not hidden
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=settings.bootstrap_servers,
            request_timeout_ms=int(timeout_s * 1000),
            bootstrap_timeout_ms=int(timeout_s * 1000),
            client_id="coea-broker-probe",
            **security,
        )
    except (KafkaError, OSError, ValueError):
        return False
    try:
        admin.describe_cluster()
        return True
    except (KafkaError, OSError):
        return False
    finally:
        admin.close()


@dataclass(frozen=True)
class BrokerStatus:
    running: bool
    answering: bool
    pid: int | None
    address: str
    logs: Path

    def describe(self) -> str:
        if self.answering and self.running:
            return f"running: pid {self.pid}, answering at {self.address} (logs: {self.logs})"
        if self.answering:
            return f"a broker not started by coea answers at {self.address}"
        if self.running:
            return (
                f"starting or stuck: pid {self.pid} is alive but {self.address} "
                f"does not answer (logs: {self.logs})"
            )
        return f"stopped: nothing answers at {self.address}"


@dataclass(frozen=True)
class ClusterStatus:
    """Status of every node of a local cluster; `answering` when all of them answer."""

    nodes: list[BrokerStatus]

    @property
    def running(self) -> bool:
        return any(n.running for n in self.nodes)

    @property
    def answering(self) -> bool:
        return all(n.answering for n in self.nodes)

    def describe(self) -> str:
        n = len(self.nodes)
        up_ = sum(s.answering for s in self.nodes)
        lines = [f"cluster of {n} brokers, {up_} answering:"]
        lines += [f"  node {k}: {s.describe()}" for k, s in enumerate(self.nodes, 1)]
        return "\n".join(lines)


def _node_status(settings: Settings, node: Node) -> BrokerStatus:
    pid = _pid(node.paths)
    return BrokerStatus(
        running=pid is not None,
        answering=answers(ops_settings(_node_settings(settings, node)), timeout_s=2.0),
        pid=pid,
        address=node.address,
        logs=node.paths.logs / "server.log",
    )


def status(settings: Settings | None = None) -> BrokerStatus | ClusterStatus:
    """The broker's status, or each node's for a cluster (what kafka_home holds)."""
    settings = settings or get_settings()
    cluster = nodes(settings)
    if len(cluster) > 1:
        return ClusterStatus([_node_status(settings, node) for node in cluster])
    paths = _paths(settings)
    pid = _pid(paths)
    return BrokerStatus(
        running=pid is not None,
        answering=answers(ops_settings(settings), timeout_s=2.0),
        pid=pid,
        address=settings.bootstrap_servers,
        logs=paths.logs / "server.log",
    )


def _size_to_start(settings: Settings, brokers: int | None) -> int:
    """How many brokers `up` starts: `brokers`, else settings.kafka_brokers when it asks for a
    cluster, else what kafka_home holds (a cluster made before restarts as a cluster)."""
    existing = cluster_size(settings)
    n = brokers or (settings.kafka_brokers if settings.kafka_brokers > 1 else existing or 1)
    if existing is not None and existing != n:
        what = "a single broker" if existing == 1 else f"a cluster of {existing} brokers"
        raise BrokerError(
            f"{settings.kafka_home} holds {what}, not {n}: `coea broker up --brokers "
            f"{existing}` starts it again; another COEA_KAFKA_HOME (and ports) makes a new one"
        )
    return n


def up(
    settings: Settings | None = None, echo=print, brokers: int | None = None
) -> BrokerStatus | ClusterStatus:
    """Start the broker (or the `brokers` nodes of a local cluster) unless it answers
    already, and wait until it answers."""
    settings = settings or get_settings()
    n = _size_to_start(settings, brokers)
    if n > 1:
        return _up_cluster(settings, n, echo)
    settings = _cluster_settings(settings, nodes(settings, 1))
    paths = _paths(settings)
    if is_secured(settings) and not SecuredHome(paths.home).is_secured():
        if _listening(settings):  # a fresh secured home: its ports must be free
            raise BrokerError(
                f"something already listens at {settings.bootstrap_servers}; a secured broker "
                "needs its own ports (COEA_KAFKA_PORT, COEA_KAFKA_CONTROLLER_PORT)"
            )
    elif answers(ops_settings(settings)):
        st = status(settings)
        echo(f"broker already up: {st.describe()}")
        provision(settings, echo)
        return st
    fetch_jars()
    node = nodes(settings, 1)[0]
    for d in (paths.home, paths.data, paths.logs):
        d.mkdir(parents=True, exist_ok=True)
    if _pid(paths) is None:
        _render_config(settings, node, [node])
        _format_storage(settings, paths, _cluster_id(paths.home))
        pid = _start(settings, paths)
        echo(f"starting Kafka broker (pid {pid}) on {settings.bootstrap_servers}...")
    deadline = time.monotonic() + settings.kafka_start_timeout_s
    while time.monotonic() < deadline:
        if answers(ops_settings(settings)):
            st = status(settings)
            echo(f"broker up: {st.describe()}")
            provision(settings, echo)
            return st
        if _pid(paths) is None:
            tail = _tail(paths.stdout) + _tail(paths.logs / "server.log")
            raise BrokerError(f"the broker exited during start-up; last log lines:\n{tail}")
        time.sleep(0.5)
    raise BrokerError(
        f"the broker did not answer at {settings.bootstrap_servers} within "
        f"{settings.kafka_start_timeout_s:.0f}s; see {paths.logs}/server.log"
    )


def _start(settings: Settings, paths: BrokerPaths) -> int:
    """Start one node in its own session; returns its pid (also written to its pid file)."""
    for d in (paths.home, paths.data, paths.logs):
        d.mkdir(parents=True, exist_ok=True)
    with open(paths.stdout, "ab") as out:
        proc = subprocess.Popen(
            _java(settings, "kafka.Kafka", str(paths.config), paths=paths),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    paths.pid_file.write_text(str(proc.pid))
    return proc.pid


def _cluster_ready(settings: Settings, cluster: list[Node]) -> bool:
    """Every node answers and the cluster's metadata lists all of them."""
    if not all(answers(_node_settings(settings, node), timeout_s=2.0) for node in cluster):
        return False
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        admin = KafkaAdminClient(
            bootstrap_servers=_cluster_settings(settings, cluster).bootstrap_servers,
            request_timeout_ms=3000,
            client_id="coea-broker-probe",
        )
    except (KafkaError, OSError, ValueError):
        return False
    try:
        return len(admin.describe_cluster()["brokers"]) == len(cluster)
    except (KafkaError, OSError):
        return False
    finally:
        admin.close()


def _up_cluster(settings: Settings, n: int, echo) -> ClusterStatus:
    if is_secured(settings):
        raise BrokerError(
            "the secured broker is a single node: a cluster (--brokers > 1) runs in plaintext "
            "(docs/security.md)"
        )
    cluster = nodes(settings, n)
    ports = [p for node in cluster for p in (node.port, node.controller_port)]
    if len(set(ports)) != len(ports):
        raise BrokerError(
            f"the ports of the {n} nodes overlap ({ports}): node k uses COEA_KAFKA_PORT + "
            "2(k-1) and COEA_KAFKA_CONTROLLER_PORT + 2(k-1), so the two must not be an even "
            "number below 2N apart"
        )
    if _cluster_ready(settings, cluster):
        st = status(settings)
        echo(f"cluster already up: {st.describe()}")
        return st
    fetch_jars()
    home = Path(settings.kafka_home)
    home.mkdir(parents=True, exist_ok=True)
    cluster_id = _cluster_id(home)
    for node in cluster:
        if _pid(node.paths) is not None:
            continue
        for d in (node.paths.home, node.paths.data, node.paths.logs):
            d.mkdir(parents=True, exist_ok=True)
        _render_config(settings, node, cluster)
        _format_storage(settings, node.paths, cluster_id)
        pid = _start(settings, node.paths)
        echo(f"starting Kafka broker {node.node_id} of {n} (pid {pid}) on {node.address}...")
    deadline = time.monotonic() + settings.kafka_start_timeout_s
    while time.monotonic() < deadline:
        if _cluster_ready(settings, cluster):
            st = status(settings)
            echo(f"cluster up: {st.describe()}")
            return st
        for node in cluster:
            if _pid(node.paths) is None:
                tail = _tail(node.paths.stdout) + _tail(node.paths.logs / "server.log")
                raise BrokerError(
                    f"broker {node.node_id} exited during start-up; last log lines:\n{tail}"
                )
        time.sleep(0.5)
    raise BrokerError(
        f"the cluster did not answer at {_cluster_settings(settings, cluster).bootstrap_servers} "
        f"within {settings.kafka_start_timeout_s:.0f}s; see {home}/node-*/logs/server.log"
    )


def down(settings: Settings | None = None, echo=print, timeout_s: float = 30.0) -> None:
    """Stop the broker, or every node of the cluster, started by `up` (SIGTERM, then SIGKILL
    after timeout_s)."""
    settings = settings or get_settings()
    cluster = nodes(settings)
    running = [(node, _pid(node.paths)) for node in cluster]
    running = [(node, pid) for node, pid in running if pid is not None]
    if not running:
        for node in cluster:
            node.paths.pid_file.unlink(missing_ok=True)
        echo("broker already stopped" if len(cluster) == 1 else "cluster already stopped")
        return
    for _, pid in running:
        os.killpg(pid, signal.SIGTERM) if _is_group_leader(pid) else os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and any(_pid(node.paths) for node, _ in running):
        time.sleep(0.2)
    for node, pid in running:
        if _pid(node.paths) is not None:
            os.kill(pid, signal.SIGKILL)
        node.paths.pid_file.unlink(missing_ok=True)
        name = "broker" if len(cluster) == 1 else f"broker {node.node_id}"
        echo(f"{name} stopped (pid {pid})")


def _listening(settings: Settings) -> bool:
    """True when something accepts a connection at one of the bootstrap addresses."""
    for address in settings.broker_addresses:
        host, _, port = address.rpartition(":")
        try:
            with socket.create_connection((host, int(port)), timeout=1.0):
                return True
        except OSError:
            continue
    return False


def _is_group_leader(pid: int) -> bool:
    try:
        return os.getpgid(pid) == pid
    except ProcessLookupError:
        return False


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) + "\n"
    except FileNotFoundError:
        return ""
