"""The worker's metrics without Faust: families from facts, parsed back with Prometheus'
own text parser."""

from __future__ import annotations

from prometheus_text import samples  # tests/support

from coea.ops.reasons import REASONS
from stream_app.metrics import WorkerFacts, WorkerMetrics, lag_of, store_sizes


def test_metrics_text_parses_and_reports_the_facts():
    m = WorkerMetrics()
    facts = WorkerFacts(
        stats={
            "records": 12,
            "applied": 9,
            "duplicates": 1,
            "windows_emitted": 3,
            "open_windows": [0, 2],
        },
        dead_letters={"bad_json": 2},
        lag={("p.events", 1): 7},
        assigned=4,
        ready=True,
        store_bytes={"users": 1024},
        served_version=5,
    )
    m.collect_facts(lambda: facts)
    m.batch_seconds.observe(0.2)
    got = samples(m.render().decode())
    assert got[("coea_worker_events_total", ())] == 12
    assert got[("coea_worker_events_applied_total", ())] == 9
    assert got[("coea_worker_events_duplicate_total", ())] == 1
    assert got[("coea_worker_windows_emitted_total", ())] == 3
    assert got[("coea_worker_dead_letters_total", (("reason", "bad_json"),))] == 2
    reasons = {dict(k[1])["reason"] for k in got if k[0] == "coea_worker_dead_letters_total"}
    assert reasons == set(REASONS)  # bounded, and every label present from the start
    lag = ("coea_worker_consumer_lag_records", (("partition", "1"), ("topic", "p.events")))
    assert got[lag] == 7
    assert got[("coea_worker_state_store_bytes", (("table", "users"),))] == 1024
    assert got[("coea_worker_ready", ())] == 1 and got[("coea_worker_assigned_partitions", ())] == 4
    assert got[("coea_worker_open_windows", ())] == 2
    assert got[("coea_worker_served_table_version", ())] == 5
    assert got[("coea_worker_batch_duration_seconds_count", ())] == 1


def test_lag_counts_from_the_next_offset_to_process():
    assert lag_of(100, 89, None) == 10  # offsets 90..99 remain
    assert lag_of(100, None, 40) == 60
    assert lag_of(100, 99, 40) == 0
    assert lag_of(None, 5, 5) is None and lag_of(10, None, None) is None


def test_store_sizes_add_up_each_tables_partitions(tmp_path):
    for name, size in (("users-0.db", 10), ("users-3.db", 5), ("window-clocks-1.db", 7)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "000001.sst").write_bytes(b"x" * size)
    assert store_sizes(tmp_path) == {"users": 15, "window-clocks": 7}
    assert store_sizes(tmp_path / "missing") == {}
