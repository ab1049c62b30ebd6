"""The learner's metrics without a broker: stage times, losses, group sizes, the registry."""

from __future__ import annotations

from prometheus_text import samples  # tests/support

from learners.metrics import (
    LearnerFacts,
    LearnerMetrics,
    group_sizes,
    losses,
    size_quantiles,
    stage_seconds,
)

CYCLE = {
    "aligned_share": 0.4,
    "pco": {
        "dpo": {"runtime_s": 1.5, "loss_last": 0.69},
        "reward": {"runtime_s": 0.5, "loss_last": 0.35},
    },
}


def test_stages_and_losses_come_from_the_cycle_metrics():
    stages = stage_seconds(CYCLE, {"engine": 3.0, "publish": 0.2, "unknown": 9.0})
    assert stages == {"engine": 3.0, "publish": 0.2, "train_dpo": 1.5, "train_reward": 0.5}
    assert losses(CYCLE) == {"dpo": 0.69, "reward": 0.35}
    assert losses({}) == {}


def test_group_size_quantiles():
    assert group_sizes([1, 1, 2, 7, 7, 7]) == [1, 2, 3]
    assert size_quantiles([1, 2, 3]) == {"0": 1.0, "0.5": 2.0, "0.9": 3.0, "1": 3.0}
    assert size_quantiles([]) == {}


def test_a_published_cycle_moves_the_counters():
    facts = LearnerFacts(cycle=2, ready=True, records=30, users=10, group_sizes=[4, 6], lag={0: 3})
    m = LearnerMetrics(lambda: facts)
    before = samples(m.render().decode())
    assert before[("coea_learner_cycles_total", (("reason", "idle"),))] == 0
    m.cycle_done("idle", 2, 40, CYCLE, {"engine": 3.0}, 4.0, 1_700_000_000.0)
    m.publish_failures.inc()
    got = samples(m.render().decode())
    assert got[("coea_learner_cycles_total", (("reason", "idle"),))] == 1
    assert got[("coea_learner_table_version", ())] == 2
    assert got[("coea_learner_table_rows", ())] == 40
    assert got[("coea_learner_aligned_share", ())] == 0.4
    assert got[("coea_learner_training_loss", (("model", "dpo"),))] == 0.69
    assert got[("coea_learner_cycle_duration_seconds_count", ())] == 1
    stage = ("coea_learner_cycle_stage_duration_seconds_count", (("stage", "train_dpo"),))
    assert got[stage] == 1
    assert got[("coea_learner_publish_failures_total", ())] == 1
    assert got[("coea_learner_users_per_group", (("quantile", "1"),))] == 6
    assert got[("coea_learner_consumer_lag_records", (("partition", "0"),))] == 3
    assert got[("coea_learner_ready", ())] == 1 and got[("coea_learner_groups", ())] == 2
