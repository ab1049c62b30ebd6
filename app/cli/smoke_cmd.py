"""`coea smoke`: broker up, topics created, one record of every type produced and read back."""

from __future__ import annotations

import time
import uuid

import click

from coea import broker as broker_ctl
from coea.examples import EXAMPLES
from coea.security import kafka_python_options
from coea.settings import get_settings


@click.command()
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait for records.")
def smoke(timeout: float) -> None:
    """Check the stack end to end: start the broker, create the topics, send one example of
    every wire record through the real broker with kafka-python and read each back."""
    from kafka import KafkaConsumer, KafkaProducer

    from coea.admin import create_topics

    settings = get_settings()
    t0 = time.monotonic()
    try:
        broker_ctl.up(echo=click.echo)
    except broker_ctl.BrokerError as exc:
        raise click.ClickException(str(exc)) from None
    for r in create_topics(settings):
        click.echo(f"topic {r.name}: {'created' if r.created else 'exists'}")
    run = uuid.uuid4().hex[:8]
    security = kafka_python_options(settings)
    producer = KafkaProducer(
        bootstrap_servers=settings.bootstrap_servers,
        acks="all",
        enable_idempotence=True,
        **security,
    )
    expected: dict[str, set[bytes]] = {}
    for spec, key, record in EXAMPLES:
        topic = spec.name(settings)
        headers = [("coea-smoke", run.encode())]
        producer.send(topic, record.to_bytes(), key=key.encode() if key else None, headers=headers)
        expected.setdefault(topic, set()).add(record.to_bytes())
    producer.flush()
    producer.close()
    consumer = KafkaConsumer(
        *expected,
        bootstrap_servers=settings.bootstrap_servers,
        auto_offset_reset="earliest",
        group_id=f"coea-smoke-{run}",
        consumer_timeout_ms=int(timeout * 1000),
        **security,
    )
    try:
        for msg in consumer:
            if (("coea-smoke", run.encode())) in msg.headers:
                expected[msg.topic].discard(msg.value)
            if not any(expected.values()):
                break
    finally:
        consumer.close()
    missing = {t: len(v) for t, v in expected.items() if v}
    if missing:
        raise click.ClickException(f"records not read back within {timeout}s: {missing}")
    click.echo(
        f"smoke ok: {len(EXAMPLES)} records of {len({type(r) for _, _, r in EXAMPLES})} types "
        f"round-tripped through {settings.bootstrap_servers} in {time.monotonic() - t0:.1f}s"
    )
