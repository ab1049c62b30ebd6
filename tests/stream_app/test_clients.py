"""The Kafka clients Faust builds for the worker carry the options of `stream_app.clients`."""

from __future__ import annotations

import asyncio


def test_the_worker_producer_is_idempotent_with_acks_all():
    from stream_app.app import app

    async def build():
        producer = app.producer._new_producer()  # built, never started: no broker needed
        try:
            return producer._txn_manager, producer._sender._acks
        finally:
            await producer.stop()

    txn_manager, acks = asyncio.run(build())
    assert txn_manager is not None  # aiokafka keeps producer ids and sequences for idempotence
    assert acks == -1  # acks=all


def test_the_worker_consumer_reads_committed_records_only():
    from stream_app.app import app

    async def build():
        consumer = app.consumer._thread._create_worker_consumer(app.transport)  # not started
        try:
            return consumer._isolation_level
        finally:
            await consumer.stop()

    assert asyncio.run(build()) == "read_committed"
