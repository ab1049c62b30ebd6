"""Table 2 rendering: bold best, underlined strongest baseline, Improv. rows; JSON round trip."""

from __future__ import annotations

from evaluation.report import markdown_table, results_from_payload, results_payload
from evaluation.runner import MethodResult


def _results() -> list[MethodResult]:
    return [
        MethodResult("user-popular", "UserPop", "Exploitation", [{"C-N@5": 0.9}], [0.1]),
        MethodResult("sasrec", "SASRec", "Exploitation", [{"C-N@5": 0.5}, {"C-N@5": 0.7}], [1, 1]),
        MethodResult("coea", "CoEA", "Ours", [{"C-N@5": 0.66}], [2.0]),
    ]


def test_table_marks_and_improvement_rows() -> None:
    table = markdown_table(_results(), ["C-N@5"])
    lines = table.splitlines()
    assert "| Exploitation | UserPop | **<u>0.9000</u>** |" in lines
    assert "| Exploitation | SASRec | 0.6000 |" in lines  # mean of two seeds
    assert "| Ours | CoEA | 0.6600 |" in lines
    assert "| | Improv. | -26.67% |" in lines  # vs UserPop 0.9
    assert "| | Improv. (paper's baselines) | +10.00% |" in lines  # vs SASRec 0.6


def test_no_improvement_row_without_coea() -> None:
    assert "Improv." not in markdown_table(_results()[:2], ["C-N@5"])


def test_payload_round_trip() -> None:
    results = _results()
    back = results_from_payload(results_payload(results, {"command": "x"}))
    assert [(r.name, r.label, r.kind, r.per_seed, r.wall_s) for r in back] == [
        (r.name, r.label, r.kind, r.per_seed, r.wall_s) for r in results
    ]


def test_report_states_the_serendipity_bound_under_table_2() -> None:
    from evaluation.metrics import serendipity_oracle
    from evaluation.report import markdown_report

    results = [MethodResult("sasrec", "SASRec", "Exploitation", [{"SER@5": 0.1}], [1.0])]
    meta = {
        "dataset": {"name": "ml-100k", "mode": "genre-combo"},
        "ks": [5],
        "blend": {"explore_slots": [2, 4, 6, 8, 10]},
        "ser_oracle": serendipity_oracle([(set(), {"a", "b", "c"})], (5,), (2, 4, 6, 8, 10)),
    }
    text = markdown_report(results, meta)
    table2 = text.split("## Table 2")[1].split("## Other readings")[0]
    assert "SER@5 <= 0.6000 for any list, <= 0.4000 from the exploration path's slots" in table2
    without = markdown_report(results, {k: v for k, v in meta.items() if k != "ser_oracle"})
    assert "Oracle bound" not in without
