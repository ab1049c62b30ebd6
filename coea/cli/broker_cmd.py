"""`coea broker up|down|status`: the project's own single-node Kafka (KRaft) broker."""

from __future__ import annotations

import sys

import click

from coea import broker as broker_ctl


@click.group()
def broker() -> None:
    """Start, stop or query the local Apache Kafka broker (KRaft, 127.0.0.1).

    Jars come from Maven Central (infra/kafka/pom.xml) and are cached in
    infra/kafka/.cache/libs; data and logs live under COEA_KAFKA_HOME (default var/kafka).
    """


@broker.command()
def up() -> None:
    """Fetch the jars if needed, format storage, start the broker and wait until it answers."""
    try:
        broker_ctl.up(echo=click.echo)
    except broker_ctl.BrokerError as exc:
        raise click.ClickException(str(exc)) from None


@broker.command()
def down() -> None:
    """Stop the broker started by `coea broker up` (harmless when it is stopped)."""
    broker_ctl.down(echo=click.echo)


@broker.command()
def status() -> None:
    """Say whether the broker is running and answering; exit 0 if it answers, 1 if not."""
    st = broker_ctl.status()
    click.echo(st.describe())
    sys.exit(0 if st.answering else 1)
