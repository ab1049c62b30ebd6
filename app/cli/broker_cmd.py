"""`coea broker up|down|status`: the project's own Kafka (KRaft) broker, or a local cluster."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from coea import broker as broker_ctl


@click.group()
def broker() -> None:
    """Start, stop or query the local Apache Kafka broker (KRaft, 127.0.0.1), or a local
    cluster of several.

    Jars come from Maven Central (infra/kafka/pom.xml) and are cached in
    infra/kafka/.cache/libs; data and logs live under COEA_KAFKA_HOME (default var/kafka;
    node-1 .. node-N there for a cluster).
    """


@broker.command()
@click.option(
    "--brokers",
    type=click.IntRange(1, 9),
    default=None,
    help="Start a cluster of N brokers (each also a controller voter): node k on "
    "COEA_KAFKA_PORT + 2(k-1). Default: COEA_KAFKA_BROKERS (1), or the cluster "
    "COEA_KAFKA_HOME holds.",
)
def up(brokers: int | None) -> None:
    """Fetch the jars if needed, format storage, start the broker (or each stopped node of the
    cluster) and wait until it answers."""
    try:
        broker_ctl.up(echo=click.echo, brokers=brokers)
    except broker_ctl.BrokerError as exc:
        raise click.ClickException(str(exc)) from None


@broker.command()
def grant() -> None:
    """Secured broker: create the topics of COEA_TOPIC_PREFIX and grant each principal its
    ACLs (as the super user; idempotent). `broker up` does this for the configured prefix."""
    from coea.broker_security import is_secured
    from coea.settings import get_settings

    settings = get_settings()
    if not is_secured(settings):
        raise click.ClickException("grant needs COEA_KAFKA_SECURITY_PROTOCOL=SASL_SSL")
    broker_ctl.provision(broker_ctl.ops_settings(settings), echo=click.echo)


@broker.command()
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for tls/, secrets/, server.properties and start-kafka.sh.",
)
@click.option("--host", default="kafka", show_default=True, help="Host name clients use.")
@click.option(
    "--owner",
    type=int,
    default=None,
    help="Give the files to this user id (the broker container's user, e.g. 1000).",
)
def credentials(out: Path, host: str, owner: int | None) -> None:
    """Write a development CA, the broker certificate, one password file per principal and a
    secured server.properties + start script for a broker in a container (docker-compose).
    Existing files are kept; passwords are never printed."""
    from coea.broker_security import container_files
    from coea.settings import get_settings

    out.mkdir(parents=True, exist_ok=True)
    template = broker_ctl.SECURED_TEMPLATE.read_text()
    for path in container_files(template, out, host, get_settings()):
        click.echo(f"wrote {path}")
    if owner is not None:
        for path in [out, *out.rglob("*")]:
            os.chown(path, owner, -1)


@broker.command()
def down() -> None:
    """Stop the broker, or every node of the cluster, started by `coea broker up` (harmless
    when stopped)."""
    broker_ctl.down(echo=click.echo)


@broker.command()
def status() -> None:
    """Say whether the broker (each node of a cluster) is running and answering; exit 0 if
    it answers (every node of a cluster), 1 if not."""
    st = broker_ctl.status()
    click.echo(st.describe())
    sys.exit(0 if st.answering else 1)
