"""`coea replay`: sources to JSON lines (no broker), and a JSON-lines replay to the real broker."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli.replay_cmd import replay
from coea.data.events_io import read_jsonl
from coea.schemas import ClickEvent

COEA = str(Path(sys.executable).with_name("coea"))


def test_synthetic_to_jsonl_is_deterministic(tmp_path):
    outs = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.jsonl"
        result = CliRunner().invoke(
            replay,
            [
                "--synthetic",
                "--users",
                "20",
                "--days",
                "2",
                "--n-categories",
                "30",
                "--out",
                str(path),
            ],
        )
        assert result.exit_code == 0, result.output
        assert "rejected 0" in result.output
        outs.append(path.read_bytes())
    assert outs[0] == outs[1] and outs[0].count(b"\n") > 20


def test_movielens_to_jsonl_uses_threshold_and_category_mode(ml100k, tmp_path):
    path = tmp_path / "ml.jsonl"
    result = CliRunner().invoke(
        replay,
        [
            "--ml-100k",
            str(ml100k),
            "--limit",
            "500",
            "--click-threshold",
            "5",
            "--categories",
            "genre-combo",
            "--out",
            str(path),
        ],
    )
    assert result.exit_code == 0, result.output
    events = [ln.event for ln in read_jsonl(path)]
    assert len(events) == 500
    assert {e.kind for e in events if e.value == 5.0} == {"click"}
    assert {e.kind for e in events if e.value < 5.0} == {"exposure"}
    assert any("|" in e.category for e in events)


def test_jsonl_bad_lines_are_reported_with_line_numbers(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    good = ClickEvent(event_id="e1", user_id="u", item_id="i", category="c", ts=1).to_bytes()
    src.write_bytes(good + b"\n{oops\n\n" + good.replace(b"click", b"poke") + b"\n")
    result = CliRunner().invoke(replay, ["--jsonl", str(src), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "in.jsonl:2: bad JSON" in result.output and "in.jsonl:4: kind" in result.output
    assert "1 events, rejected 2" in result.output


def test_exactly_one_source_is_required():
    result = CliRunner().invoke(replay, ["--synthetic", "--jsonl", __file__])
    assert result.exit_code != 0 and "exactly one" in result.output


@pytest.mark.integration
@pytest.mark.slow
def test_jsonl_replay_publishes_valid_lines_keyed_by_user(kafka_env, tmp_path):
    from kafka import KafkaConsumer

    from coea.topics import EVENTS
    from stream_app.testing import delete_topics

    src = tmp_path / "in.jsonl"
    lines = [
        ClickEvent(
            event_id=f"e{n}", user_id=f"u{n % 3}", item_id="i", category="c", ts=n
        ).to_bytes()
        for n in range(10)
    ]
    src.write_bytes(b"\n".join(lines[:5] + [b"not json"] + lines[5:]) + b"\n")
    proc = subprocess.run(
        [COEA, "replay", "--jsonl", str(src)],
        env=kafka_env.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "sent 10 events, rejected 1" in proc.stdout and "in.jsonl:6" in proc.stderr
    consumer = KafkaConsumer(
        kafka_env.topic(EVENTS),
        bootstrap_servers=kafka_env.settings.bootstrap_servers,
        auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
    )
    got = [(m.key, m.value, dict(m.headers or [])) for m in consumer]
    consumer.close()
    events = [(k, v) for k, v, h in got if "coea-control" not in h]
    markers = [h for _, _, h in got if "coea-control" in h]
    assert sorted(v for _, v in events) == sorted(lines)
    assert all(k == json.loads(v)["user_id"].encode() for k, v in events)
    assert len(markers) == kafka_env.settings.topic_partitions
    delete_topics(kafka_env.settings)
