"""Start, stop and query the project's own single-node Apache Kafka (KRaft) broker.

The jars come from Maven Central through ``infra/kafka/fetch.sh`` (cached in
``infra/kafka/.cache/libs``); data, logs and the pid file live under ``settings.kafka_home``.
Every operation is idempotent: ``up`` on a running broker and ``down`` on a stopped one are
harmless.
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


def _render_config(settings: Settings, paths: BrokerPaths) -> None:
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
    text = (
        (INFRA / "server.properties.template")
        .read_text()
        .format(
            port=settings.kafka_port,
            controller_port=settings.kafka_controller_port,
            data_dir=paths.data,
        )
    )
    paths.config.write_text(text)


def _format_storage(settings: Settings, paths: BrokerPaths) -> None:
    if (paths.data / "meta.properties").exists():
        return
    cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
    cmd = _java(
        settings,
        "kafka.tools.StorageTool",
        "format",
        "-t",
        cluster_id,
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
    try:
        with socket.create_connection((settings.kafka_host, settings.kafka_port), timeout=1.0):
            pass
    except OSError:
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


def status(settings: Settings | None = None) -> BrokerStatus:
    settings = settings or get_settings()
    paths = _paths(settings)
    pid = _pid(paths)
    return BrokerStatus(
        running=pid is not None,
        answering=answers(ops_settings(settings), timeout_s=2.0),
        pid=pid,
        address=settings.bootstrap_servers,
        logs=paths.logs / "server.log",
    )


def up(settings: Settings | None = None, echo=print) -> BrokerStatus:
    """Start the broker unless one answers already, and wait until it answers."""
    settings = settings or get_settings()
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
    for d in (paths.home, paths.data, paths.logs):
        d.mkdir(parents=True, exist_ok=True)
    if _pid(paths) is None:
        _render_config(settings, paths)
        _format_storage(settings, paths)
        with open(paths.stdout, "ab") as out:
            proc = subprocess.Popen(
                _java(settings, "kafka.Kafka", str(paths.config), paths=paths),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        paths.pid_file.write_text(str(proc.pid))
        echo(f"starting Kafka broker (pid {proc.pid}) on {settings.bootstrap_servers}...")
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


def down(settings: Settings | None = None, echo=print, timeout_s: float = 30.0) -> None:
    """Stop the broker started by `up` (SIGTERM, then SIGKILL after timeout_s)."""
    settings = settings or get_settings()
    paths = _paths(settings)
    pid = _pid(paths)
    if pid is None:
        paths.pid_file.unlink(missing_ok=True)
        echo("broker already stopped")
        return
    os.killpg(pid, signal.SIGTERM) if _is_group_leader(pid) else os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and _pid(paths) is not None:
        time.sleep(0.2)
    if _pid(paths) is not None:
        os.kill(pid, signal.SIGKILL)
    paths.pid_file.unlink(missing_ok=True)
    echo(f"broker stopped (pid {pid})")


def _listening(settings: Settings) -> bool:
    try:
        with socket.create_connection((settings.kafka_host, settings.kafka_port), timeout=1.0):
            return True
    except OSError:
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
