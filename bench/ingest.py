"""Ingest benchmark: MovieLens-100K through the broker and `coea worker`, beside two ceilings.

In one run, on the same records:
1. broker ceiling: kafka-python produces the events to a scratch topic, then aiokafka (the
   worker's client) consumes them back with no processing;
2. storage ceiling: rocksdict puts of the same records (one by one, and in write batches);
3. the worker: the events are published first, then `coea worker` starts on them; its rate is
   records over the time between its first and its last processed record (from /stats/);
4. for reference, the events agent's own logic (`IngestProcessor`) without Faust or Kafka.

Writes bench/results/ingest.json and prints events/s, both ceilings, the worker/consume ratio
(a line `ratio <number>`) and the load average it ran under.
Usage: .venv/bin/python bench/ingest.py [--ml-100k DIR]   (needs `coea broker up`)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from coea.admin import create_topics  # noqa: E402
from coea.data.events_io import Publisher, ml_catalogue, ml_events  # noqa: E402
from coea.data.movielens import load_ml_100k  # noqa: E402
from coea.settings import Settings  # noqa: E402
from stream_app.testing import ML_ENV, Worker, delete_topics, events_consumed, wait_for  # noqa: E402

DEFAULT_ML100K = ROOT.parent / "shared" / "data" / "ml-100k"


def broker_ceiling(settings: Settings, records: list[tuple[bytes, bytes]]) -> dict:
    """kafka-python produce rate and aiokafka consume rate of ``records``, no processing."""
    from kafka import KafkaAdminClient, KafkaProducer
    from kafka.admin import NewTopic

    from coea.security import kafka_python_options

    topic = f"{settings.topic_prefix}.bench-raw"
    security = kafka_python_options(settings)
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, **security)
    admin.create_topics([NewTopic(topic, settings.topic_partitions, 1)])
    admin.close()
    producer = KafkaProducer(
        bootstrap_servers=settings.bootstrap_servers,
        linger_ms=20,
        batch_size=256 * 1024,
        acks="all",
        enable_idempotence=True,
        **security,
    )
    start = time.perf_counter()
    for key, value in records:
        producer.send(topic, key=key, value=value)
    producer.flush()
    produce_s = time.perf_counter() - start
    producer.close()
    consume_s = asyncio.run(_consume_all(settings, topic, len(records)))
    return {
        "produce_events_per_s": len(records) / produce_s,
        "consume_events_per_s": len(records) / consume_s,
    }


async def _consume_all(settings: Settings, topic: str, n: int) -> float:
    from aiokafka import AIOKafkaConsumer

    from coea.security import aiokafka_options

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **aiokafka_options(settings),
    )
    await consumer.start()
    try:
        got, start = 0, None
        while got < n:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            if start is None and batch:
                start = time.perf_counter()
            got += sum(len(msgs) for msgs in batch.values())
        return time.perf_counter() - start
    finally:
        await consumer.stop()


def storage_ceiling(records: list[tuple[bytes, bytes]], folder: Path) -> dict:
    """rocksdict put rate of ``records`` (Faust's options: raw mode), single puts and batches."""
    from rocksdict import Options, Rdict, WriteBatch

    db = Rdict(str(folder / "puts.db"), options=Options(raw_mode=True))
    start = time.perf_counter()
    for key, value in records:
        db.put(key, value)
    single_s = time.perf_counter() - start
    db.close()
    db = Rdict(str(folder / "batch.db"), options=Options(raw_mode=True))
    start = time.perf_counter()
    for i in range(0, len(records), 1000):
        wb = WriteBatch(raw_mode=True)
        for key, value in records[i : i + 1000]:
            wb.put(key, value)
        db.write(wb)
    batch_s = time.perf_counter() - start
    db.close()
    return {"put_per_s": len(records) / single_s, "batch_put_per_s": len(records) / batch_s}


def logic_rate(records: list[tuple[bytes, bytes]], partitions: int) -> dict:
    """The events agent's own work (decode, state, windows, JSON) without Faust or Kafka."""
    from coea.state import StateParams
    from stream_app.processor import IngestProcessor, MemoryTables, RawRecord
    from stream_app.windows import WindowClock

    raw = [RawRecord(hash(k) % partitions, n, k, v) for n, (k, v) in enumerate(records)]
    proc = IngestProcessor(StateParams(filter_unit="category", window_cap=1000), WindowClock(), "t")
    tables = MemoryTables()
    start = time.perf_counter()
    for i in range(0, len(raw), 1000):
        result = proc.process(raw[i : i + 1000], tables)
        tables.write(result)
    return {"events_per_s": len(raw) / (time.perf_counter() - start)}


def worker_rate(env: dict[str, str], settings: Settings, log, total: int, folder: Path) -> dict:
    """Publish everything first, then time the worker from its first to its last record."""
    publisher = Publisher(settings)
    publisher.send_items(ml_catalogue(log))
    for event in ml_events(log):
        publisher.send_event(event)
    total += publisher.send_flush_markers()
    publisher.close()
    worker = Worker.start(env, folder / "worker.log")
    try:
        samples: list[tuple[float, int]] = []

        def done() -> bool:
            records = (worker.stats() or {}).get("records", 0)
            samples.append((time.perf_counter(), records))
            return records >= total

        wait_for(done, 900, "the worker to process the replay", 0.2, detail=worker.diagnosis)
        first = next(t for t, r in samples if r > 0)
        seconds = samples[-1][0] - first
        final = worker.stats()
        wait_for(lambda: events_consumed(settings), 60, "the final commit", 0.5)
        assert worker.stop() == 0 and not worker.crashes(), worker.diagnosis()
    finally:
        if worker.alive():
            worker.kill()
    return {
        "events_per_s": total / seconds,
        "seconds": seconds,
        "records": total,
        "windows_emitted": final["windows_emitted"],
        "batches": final["batches"],
        "note": "first-to-last processed record; /stats/ polled every 0.2 s",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ml-100k", type=Path, default=DEFAULT_ML100K)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ingest.json")
    args = parser.parse_args()
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = {
            **os.environ,
            **ML_ENV,
            "COEA_TOPIC_PREFIX": prefix,
            "COEA_DATA_DIR": str(folder / "data"),
        }
        settings = Settings(topic_prefix=prefix, data_dir=folder / "data")
        create_topics(settings)
        try:
            log = load_ml_100k(args.ml_100k)
            records = [(e.user_id.encode(), e.to_bytes()) for e in ml_events(log)]
            broker = broker_ceiling(settings, records)
            storage = storage_ceiling([(v[:40], v) for _, v in records], folder)
            logic = logic_rate(records, settings.topic_partitions)
            worker = worker_rate(env, settings, log, len(records), folder)
        finally:
            delete_topics(settings)
    result = {
        "dataset": "ml-100k",
        "events": len(records),
        "worker": worker,
        "broker_ceiling": broker,
        "rocksdict_ceiling": storage,
        "worker_over_consume": worker["events_per_s"] / broker["consume_events_per_s"],
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_avg_1m": os.getloadavg()[0],
        },
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"worker            {worker['events_per_s']:>10,.0f} events/s "
        f"({worker['records']} records in {worker['seconds']:.1f}s)"
    )
    print(f"broker produce    {broker['produce_events_per_s']:>10,.0f} events/s (kafka-python)")
    print(
        f"broker consume    {broker['consume_events_per_s']:>10,.0f} events/s (aiokafka, no work)"
    )
    print(
        f"rocksdict put     {storage['put_per_s']:>10,.0f} puts/s "
        f"({storage['batch_put_per_s']:,.0f}/s in write batches)"
    )
    print(f"agent logic only  {logic['events_per_s']:>10,.0f} events/s (no Faust, no Kafka)")
    print(f"worker / consume  {result['worker_over_consume']:>10.1%}   -> {args.out}")
    print(f"ratio {result['worker_over_consume']:.4f}")
    print(f"load average (1 min) {result['machine']['load_avg_1m']:.2f}")


if __name__ == "__main__":
    main()
