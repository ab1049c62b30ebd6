"""Options of the Kafka clients Faust creates that Faust's own settings do not reach.

Faust sets read_committed consumers and idempotent producers only in its exactly-once mode;
the worker runs at least once (docs/reliability.md) but wants both:

- the consumer reads committed records only: the learner publishes each table version, with
  its user groups, in one transaction (`coea.table_io`), and an aborted or still open
  transaction must never reach the serving tables. Faust has one consumer for every topic;
  records of producers without transactions (events, changelogs) read the same either way;
- the producer is idempotent (acks=all, enable_idempotence): a send retried after a broker
  failover is written once, so a changelog, window or dead letter is never doubled by a retry.

Both are set on the aiokafka clients Faust creates, before they start. Checked on
faust-streaming 0.15.3 / aiokafka 0.14; `apply()` is idempotent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def read_committed() -> None:
    """The worker's consumer reads with isolation_level read_committed."""
    from faust.transport.drivers import aiokafka as driver

    thread = driver.AIOKafkaConsumerThread
    if getattr(thread, "_coea_read_committed", False):
        return
    create = thread._create_worker_consumer

    def create_worker_consumer(self: Any, transport: Any) -> Any:
        consumer = create(self, transport)
        consumer._isolation_level = "read_committed"  # read by consumer.start() (its fetcher)
        return consumer

    thread._create_worker_consumer = create_worker_consumer
    thread._coea_read_committed = True


IDEMPOTENT = {"acks": "all", "enable_idempotence": True}


def idempotent_producer() -> None:
    """Every producer Faust creates gets acks=all and enable_idempotence."""
    from faust.transport.drivers import aiokafka as driver

    producer = driver.Producer
    if getattr(producer, "_coea_idempotent", False):
        return
    extra = producer._settings_extra

    def settings_extra(self: Any) -> Mapping[str, Any]:
        return {**extra(self), **IDEMPOTENT}

    producer._settings_extra = settings_extra
    producer._coea_idempotent = True


def apply() -> None:
    read_committed()
    idempotent_producer()
