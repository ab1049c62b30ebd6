"""Operability parts without a broker: reason labels, log lines, probes' decisions, the
status report's pure parts, the probe HTTP server."""

from __future__ import annotations

import json
import logging
import urllib.request

import pytest
from pydantic import BaseModel, SecretStr

from coea.ops import health
from coea.ops.httpd import ProbeServer
from coea.ops.logs import (
    JSON_KEYS,
    JsonFormatter,
    RedactFilter,
    faust_logging_config,
    learner_line_facts,
    secret_values,
)
from coea.ops.reasons import REASONS, reason_label
from coea.ops.status import cycle_summary, group_lag
from coea.schemas import RecordError, decode_event
from coea.settings import Settings


@pytest.mark.parametrize(
    ("raw", "label"),
    [
        (b"x" * 20_000, "oversized"),
        (b"{not json", "bad_json"),
        (b"[1, 2]", "bad_json"),
        (b'{"user_id": "u"}', "invalid_kind"),
        (b'{"kind": "like", "user_id": "u"}', "invalid_kind"),
        (
            b'{"kind": "click", "event_id": "e", "user_id": "u", "item_id": "i", "ts": "noon"}',
            "invalid_field",
        ),
    ],
)
def test_every_decode_error_gets_its_label(raw, label):
    with pytest.raises(RecordError) as info:
        decode_event(raw)
    assert reason_label(str(info.value)) == label


def test_processor_reasons_and_unknown_text_stay_in_the_fixed_set():
    assert reason_label("key: record key 'a' != user_id 'b' (events ...)") == "key_mismatch"
    assert reason_label("unknown item: 'i9' has no category") == "unknown_item"
    assert reason_label("coea-control: unknown control 'x' (expected 'flush')") == (
        "unknown_control"
    )
    assert reason_label("processing error: KeyError('x')") == "processing_error"
    assert reason_label("empty record (null value)") == "empty"
    future = "ts: 99 is more than 86400000 ms ahead of the worker's clock (1); event time ..."
    assert reason_label(future) == "future_event"
    assert reason_label("something nobody wrote yet!") == "other"
    assert set(REASONS) >= {reason_label(t) for t in ("a: b", "", "!!", "x y: z")}


def _record(msg: str, *args, **extra) -> logging.LogRecord:
    rec = logging.LogRecord("coea.test", logging.INFO, __file__, 1, msg, args, None)
    for k, v in extra.items():
        setattr(rec, k, v)
    return rec


def test_json_lines_always_carry_the_same_keys():
    plain = json.loads(JsonFormatter().format(_record("hello %s", "world")))
    assert tuple(plain) == JSON_KEYS
    assert plain["message"] == "hello world" and plain["event"] == "log"
    assert plain["partition"] is None and plain["cycle"] is None
    rich = json.loads(
        JsonFormatter().format(_record("x", event="cycle_published", cycle=3, version=3))
    )
    assert tuple(rich) == JSON_KEYS
    assert (rich["event"], rich["cycle"], rich["version"]) == ("cycle_published", 3, 3)


def test_secrets_are_masked_in_messages_arguments_and_tracebacks():
    f = RedactFilter(["hunter2-password"])
    rec = _record("connecting as bob with %s", "hunter2-password")
    assert f.filter(rec)
    assert "hunter2" not in JsonFormatter().format(rec)
    try:
        raise ValueError("bad password hunter2-password")
    except ValueError:
        import sys

        rec = _record("failed")
        rec.exc_info = sys.exc_info()
    f.filter(rec)
    assert "hunter2" not in JsonFormatter().format(rec)
    assert "hunter2" not in logging.Formatter().format(rec)


def test_secret_values_finds_secret_types_and_secret_names():
    class Conf(BaseModel):
        password: str = "p-secret-1"
        api: SecretStr = SecretStr("t-secret-2")
        host: str = "example"

    assert set(secret_values(Conf())) == {"p-secret-1", "t-secret-2"}
    fields = Settings.model_fields
    secret_fields = [n for n in ("kafka_password", "worker_api_token") if n in fields]
    if not secret_fields:
        pytest.skip("these settings carry no secret fields")
    s = Settings(**{n: f"canary-{n}-0123456789" for n in secret_fields})
    assert set(secret_values(s)) == {f"canary-{n}-0123456789" for n in secret_fields}


def test_faust_logging_config_is_a_valid_dict_config(tmp_path):
    import logging.config

    cfg = faust_logging_config("json", ["s3cret-value"], tmp_path / "w.log")
    assert cfg.pop("merge") is True
    logging.config.dictConfig(cfg | {"root": {"handlers": ["default"], "level": "INFO"}})
    try:
        logging.getLogger("coea.check").info("token s3cret-value", extra={"partition": 2})
        for h in logging.getLogger().handlers:
            h.flush()
        line = json.loads((tmp_path / "w.log").read_text().splitlines()[-1])
        assert line["partition"] == 2 and "s3cret" not in line["message"]
    finally:
        logging.getLogger().handlers.clear()


def test_learner_lines_name_their_cycle_and_version():
    assert learner_line_facts("learner: cycle 3 published: 40 rows, aligned share 0.5, 2s") == {
        "event": "cycle_published",
        "cycle": 3,
        "version": 3,
    }
    assert learner_line_facts("learner: cycle 2 (windows) on 10 users, 30 window records")[
        "event"
    ] == ("cycle_started")
    assert learner_line_facts("learner: no new windows for 30s; stopping") == {
        "event": "idle_stop",
        "cycle": None,
        "version": None,
    }


def test_worker_readiness_needs_assignment_recovery_and_no_rebalance():
    assert health.worker_ready(True, 4, True, False)["ok"]
    assert not health.worker_ready(True, 0, True, False)["ok"]
    assert not health.worker_ready(True, 4, False, False)["ok"]
    assert not health.worker_ready(True, 4, True, True)["ok"]
    assert not health.worker_ready(False, 4, True, False)["ok"]
    assert not health.worker_live(True, True)["ok"] and health.worker_live(True, False)["ok"]


def test_learner_liveness_allows_long_cycles_but_not_a_stuck_loop():
    assert health.learner_live(100.0, 90.0, None, 30.0)["ok"]
    assert not health.learner_live(100.0, 50.0, None, 30.0)["ok"]
    running = health.learner_live(1000.0, 50.0, 40.0, 30.0)
    assert running["ok"] and running["in_cycle"] and running["cycle_running_s"] == 960.0
    assert not health.learner_ready(0, False)["ok"]
    assert not health.learner_ready(2, True)["ok"]
    assert health.learner_ready(2, False) == {"ok": True, "table_version": 2}


def test_group_lag_counts_uncommitted_partitions_from_their_end():
    ends = {("e", 0): 10, ("e", 1): 5, ("w", 0): 7}
    lag = group_lag(ends, {("e", 0): 4})
    assert lag["topics"] == {"e": {"lag": 11, "partitions": {"0": 6, "1": 5}}}
    assert lag["lag"] == 11  # topic w is not read by this group
    assert group_lag(ends, {})["lag"] == 0


def test_cycle_summary_takes_the_losses_and_share_from_the_manifest():
    manifest = {
        "reason": "idle",
        "created_ms": 5,
        "metrics": {
            "users": 9,
            "rows": 4,
            "aligned_share": 0.25,
            "pco": {"dpo": {"loss_last": 0.69}, "reward": {"loss_last": 0.4}},
        },
    }
    s = cycle_summary(manifest, 2, True)
    assert s["cycle"] == 2 and s["published"] and s["reason"] == "idle"
    assert s["metrics"]["losses"] == {"reward": 0.4, "dpo": 0.69}
    assert s["metrics"]["aligned_share"] == 0.25


def test_probe_server_answers_routes_and_404():
    server = ProbeServer("127.0.0.1", 0, {"/healthz": lambda: (503, "application/json", b"{}")})
    try:
        base = f"http://127.0.0.1:{server.port}"
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(f"{base}/healthz", timeout=5)
        assert info.value.code == 503
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(f"{base}/nothing", timeout=5)
        assert info.value.code == 404
    finally:
        server.close()
