"""Ingest benchmark: MovieLens-100K through the broker and `coea worker`, beside two ceilings.

In one run, on the same records:
1. broker ceiling: kafka-python produces the events to a scratch topic, then aiokafka (the
   worker's client) consumes them back with no processing;
2. storage ceiling: rocksdict puts of the same records (one by one, and in write batches);
3. the worker: the events are published first, then `coea worker` starts on them; its rate is
   records over the time between its first and its last processed record (from /stats/);
4. for reference, the events agent's own logic (`IngestProcessor`) without Faust or Kafka;
5. with ``--workers 1,2,4``: for each count, fresh topics holding three copies of the
   events (own user ids), then that many `coea worker` processes started together in one
   group; the aggregate rate is timed from when every worker is processing to the last record.

Writes bench/results/ingest.json and prints events/s, both ceilings, the worker/consume ratio
(a line `ratio <number>`) and the load average it ran under.
Usage: .venv/bin/python bench/ingest.py [--ml-100k DIR] [--workers 1,2,4]
       (needs `coea broker up`)
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
        first, first_records = next((t, r) for t, r in samples if r > 0)
        seconds = samples[-1][0] - first
        timed = samples[-1][1] - first_records  # records processed between the two samples
        final = worker.stats()
        wait_for(lambda: events_consumed(settings), 60, "the final commit", 0.5)
        assert worker.stop() == 0 and not worker.crashes(), worker.diagnosis()
    finally:
        if worker.alive():
            worker.kill()
    return {
        "events_per_s": timed / seconds,
        "seconds": seconds,
        "records": total,
        "records_timed": timed,
        "windows_emitted": final["windows_emitted"],
        "batches": final["batches"],
        "note": "records between the first /stats/ sample showing processed records and the "
        "last, over the time between them (polled every 0.2 s)",
    }


def _copies(log, copies: int):
    """ML-100K's events `copies` times over, each copy under its own user and event ids (so
    the scale-out runs long enough to measure past the group's first rebalance)."""
    for c in range(copies):
        for event in ml_events(log):
            yield event.model_copy(
                update={"user_id": f"{event.user_id}.{c}", "event_id": f"{event.event_id}.{c}"}
            )


def scale_out(
    env: dict[str, str], prefix: str, log, n_workers: int, folder: Path, copies: int = 3
) -> dict:
    """`n_workers` workers in one group on fresh topics holding `copies` x ML-100K: publish
    first, start the workers together, and time the aggregate rate once every worker has
    partitions (all of them processing) until the last record (/stats/, summed)."""
    from concurrent.futures import ThreadPoolExecutor

    run = f"{prefix}-x{n_workers}"
    settings = Settings(topic_prefix=run, data_dir=folder / run)
    create_topics(settings)
    env = {**env, "COEA_TOPIC_PREFIX": run}
    publisher = Publisher(settings)
    publisher.send_items(ml_catalogue(log))
    total = 0
    for event in _copies(log, copies):
        publisher.send_event(event)
        total += 1
    total += publisher.send_flush_markers()
    publisher.close()
    workers: list[Worker] = []
    try:
        launched = time.perf_counter()
        with ThreadPoolExecutor(n_workers) as pool:
            workers = list(
                pool.map(
                    lambda i: Worker.start(
                        {**env, "COEA_DATA_DIR": str(folder / run / f"w{i}")},
                        folder / f"{run}-w{i}.log",
                    ),
                    range(n_workers),
                )
            )
        samples: list[tuple[float, list[int]]] = []

        def done() -> bool:
            counts = [(w.stats() or {}).get("records", 0) for w in workers]
            samples.append((time.perf_counter(), counts))  # taken after the last answer
            return sum(counts) >= total

        wait_for(done, 900, f"{n_workers} workers to process the replay", 0.2)
        t_all, n_all = next((t, sum(c)) for t, c in samples if all(c))
        t_end, n_end = samples[-1][0], sum(samples[-1][1])
        for w in workers:
            assert w.stop() == 0 and not w.crashes(), w.diagnosis()
    finally:
        for w in workers:
            if w.alive():
                w.kill()
        delete_topics(settings)
    return {
        "workers": n_workers,
        "events_per_s": (n_end - n_all) / (t_end - t_all),
        "seconds_all_processing": t_end - t_all,
        "records_all_processing": n_end - n_all,
        "wall_seconds_from_launch": t_end - launched,
        "records": total,
        "records_per_worker": samples[-1][1],
        "note": f"{copies} x ML-100K published first; workers started together; rate over the "
        "interval from the first /stats/ sample where every worker had processed records to "
        "the last (polled every 0.2 s, summed over workers)",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ml-100k", type=Path, default=DEFAULT_ML100K)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ingest.json")
    parser.add_argument(
        "--workers",
        default="",
        help="Also run this many workers in one group, e.g. 1,2,4 (aggregate events/s each).",
    )
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",") if n.strip()]
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
            scaled = [scale_out(env, prefix, log, n, folder) for n in counts]
        finally:
            delete_topics(settings)
    consume = broker["consume_events_per_s"]
    result = {
        "dataset": "ml-100k",
        "events": len(records),
        "worker": worker,
        "broker_ceiling": broker,
        "rocksdict_ceiling": storage,
        "worker_over_consume": worker["events_per_s"] / broker["consume_events_per_s"],
        "scale_out": [
            r | {"per_worker_over_consume": r["events_per_s"] / r["workers"] / consume}
            for r in scaled
        ],
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
    for r in result["scale_out"]:
        print(
            f"{r['workers']} worker(s) in a group {r['events_per_s']:>8,.0f} events/s aggregate, "
            f"{r['per_worker_over_consume']:.1%} of raw consume per worker "
            f"(records per worker {r['records_per_worker']}, "
            f"{r['wall_seconds_from_launch']:.1f}s from launch)"
        )
    print(f"ratio {result['worker_over_consume']:.4f}")
    print(f"load average (1 min) {result['machine']['load_avg_1m']:.2f}")


if __name__ == "__main__":
    main()
