"""`coea evaluate --quick` end to end on ML-100K, through the console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

COEA = str(Path(sys.executable).with_name("coea"))
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def quick_run(ml100k: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("eval")
    proc = subprocess.run(
        [
            COEA,
            "evaluate",
            "--quick",
            "--dataset",
            "ml-100k",
            "--path",
            str(ml100k),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert proc.returncode == 0, f"coea evaluate failed:\n{proc.stdout}\n{proc.stderr}"
    return out, proc.stdout


@pytest.mark.slow
def test_results_json_structure(quick_run) -> None:
    out, _ = quick_run
    data = json.loads((out / "results.json").read_text())
    for key in (
        "command",
        "commit",
        "machine",
        "dataset",
        "protocol",
        "blend",
        "seeds",
        "methods_run",
        "methods_skipped",
        "tail",
        "methods",
    ):
        assert key in data, key
    assert data["dataset"]["name"] == "ml-100k"
    assert data["dataset"]["users_evaluated"] > 100
    assert data["protocol"]["max_users"] == 150 and data["seeds"] == [0]
    assert set(data["methods"]) == set(data["methods_run"])
    assert {"most-popular", "sasrec", "hucb", "explore"} <= set(data["methods"])
    for name, entry in data["methods"].items():
        metrics = entry["metrics"]
        for key in ("C-H@1", "C-N@5", "NCP@5", "NCP@5/K", "CLTP@5", "SER@5", "NCP-short@5"):
            assert 0.0 <= metrics[key]["mean"] <= 1.0, (name, key)
            assert len(metrics[key]["per_seed"]) == 1
        assert entry["wall_s"]["mean"] >= 0.0
        assert entry["type"] in ("Exploitation", "Exploration", "Ours")
    assert "Hit@10" in data["methods"]["sasrec"]["metrics"]  # item rankers report items too
    assert "Hit@10" not in data["methods"]["hucb"]["metrics"]
    assert "ACC@5" not in data["methods"]["sasrec"]["metrics"]  # no ground truth in a real log
    assert "oracle" not in data and "world" not in data["dataset"]
    bound = data["ser_oracle"]  # a real log still bounds SER@K by the users' futures
    for k in (1, 5, 10):
        assert bound[f"SER@{k} path slots"] <= bound[f"SER@{k}"] <= 1.0
        for name, entry in data["methods"].items():
            assert entry["metrics"][f"SER@{k}"]["mean"] <= bound[f"SER@{k}"] + 1e-12, name


@pytest.mark.slow
def test_table_has_a_row_per_method(quick_run) -> None:
    out, stdout = quick_run
    data = json.loads((out / "results.json").read_text())
    table = (out / "table.md").read_text()
    assert "| Type | Method | C-H@1 | C-N@5 | NCP@5 | CLTP@5 | SER@5 |" in table
    main = table.split("## Table 2")[1].split("##")[0]
    for entry in data["methods"].values():
        rows = [ln for ln in main.splitlines() if f"| {entry['label']} |" in ln]
        assert len(rows) == 1, entry["label"]
        assert rows[0].startswith(f"| {entry['type']} |")
    assert "**" in main  # a best value is bolded
    assert "C-H@1" in stdout and "wrote" in stdout  # readable summary on stdout


@pytest.mark.slow
def test_png_written(quick_run) -> None:
    out, _ = quick_run
    png = out / "tradeoff.png"
    assert png.read_bytes()[:8] == PNG_MAGIC


def test_live_method_needs_live(tmp_path: Path) -> None:
    proc = subprocess.run(
        [COEA, "evaluate", "--methods", "sasrec,coea-live", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "coea-live: needs --live" in proc.stderr


@pytest.mark.slow
def test_synthetic_reports_acceptance_against_the_latent_accept_sets(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            COEA, "evaluate", "--quick", "--dataset", "synthetic",
            "--synthetic-world", "popular",  # hidden categories a global ranking can hit
            "--methods", "most-popular,user-popular,sasrec,hucb", "--max-users", "80",
            "--out", str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    assert proc.returncode == 0, f"coea evaluate failed:\n{proc.stdout}\n{proc.stderr}"
    data = json.loads((tmp_path / "results.json").read_text())
    for name, entry in data["methods"].items():
        mean = {k: v["mean"] for k, v in entry["metrics"].items()}
        for key in ("ACC@5", "ACC-rate@5", "HID@5", "ACC@10", "ACC-rate@10", "HID@10"):
            assert 0.0 <= mean[key] <= 1.0, (name, key)
        assert mean["ACC@5"] <= mean["NCP@5/K"] + 1e-12  # accepted novel <= novel
        assert mean["HID@5"] <= mean["ACC@5"] + 1e-12  # hidden ones are novel and accepted
        if mean["NCP@5/K"]:
            assert mean["ACC-rate@5"] == pytest.approx(mean["ACC@5"] / mean["NCP@5/K"])
    # UserPop repeats the user's own categories: nothing novel in its top 5
    assert data["methods"]["user-popular"]["metrics"]["ACC@5"]["mean"] == 0.0
    assert data["methods"]["most-popular"]["metrics"]["HID@5"]["mean"] > 0.0
    assert data["dataset"]["world"] == "popular"
    oracle = data["oracle"]
    for k in (1, 5, 10):  # no list beats the oracle; the path's slots bound less
        assert oracle[f"HID@{k} path slots"] <= oracle[f"HID@{k}"] <= 1.0
        for entry in data["methods"].values():
            assert entry["metrics"][f"HID@{k}"]["mean"] <= oracle[f"HID@{k}"] + 1e-12
    assert "## Serendipity ground truth" in (tmp_path / "table.md").read_text()
    assert "Oracle bound" in (tmp_path / "table.md").read_text()
    assert "latent accept-sets" in proc.stdout


def test_methods_help_names_every_registered_method():
    from click.testing import CliRunner

    from app.cli.evaluate_cmd import evaluate
    from evaluation.methods import SPECS

    text = " ".join(CliRunner().invoke(evaluate, ["--help"], terminal_width=400).output.split())
    missing = [s.name for s in SPECS if s.name != "coea-live" and s.name not in text]
    assert not missing, f"coea evaluate --help does not name {missing}"
