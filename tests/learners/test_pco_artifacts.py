"""Versioned cycle folders: manifest last, resume, rollback, prune."""

from __future__ import annotations

import json

import pytest

from learners.pco import artifacts


class FakeModel:
    def __init__(self):
        self.calls = []

    def save_pretrained(self, folder, selected_adapters=None):
        self.calls.append(selected_adapters)
        folder.mkdir(parents=True)
        (folder / "adapter_model.safetensors").write_bytes(b"x")


class FakeTok:
    def save_pretrained(self, folder):
        folder.mkdir(parents=True)
        (folder / "tokenizer.json").write_text("{}")


def _save(root, k, parent=None):
    model = FakeModel()
    artifacts.save_cycle(
        root, k, model, FakeModel(), FakeTok(), {"parent_cycle": parent, "metrics": {"k": k}}
    )
    return model


def test_cycle_is_complete_only_with_its_manifest(tmp_path):
    model = _save(tmp_path, 0)
    assert model.calls == [["default"]]  # the DPO `ref` adapter is never written
    man = artifacts.read_manifest(artifacts.cycle_dir(tmp_path, 0))
    assert man["cycle"] == 0 and man["format"] == artifacts.FORMAT and "created_at" in man
    crashed = artifacts.cycle_dir(tmp_path, 1)
    (crashed / "novelty").mkdir(parents=True)  # interrupted save: no manifest
    assert artifacts.complete_cycles(tmp_path) == [0] and artifacts.latest_cycle(tmp_path) == 0
    _save(tmp_path, 1, parent=0)  # the leftover is replaced
    assert artifacts.latest_cycle(tmp_path) == 1
    assert not list(tmp_path.rglob(".manifest.json.tmp"))
    with pytest.raises(FileExistsError):
        _save(tmp_path, 1)


def test_rollback_moves_later_cycles_aside(tmp_path):
    for k in range(4):
        _save(tmp_path, k, parent=k - 1)
    assert artifacts.rollback(tmp_path, 1) == [2, 3]
    assert artifacts.complete_cycles(tmp_path) == [0, 1]
    assert len(list((tmp_path / ".rolled-back").rglob("manifest.json"))) == 2
    with pytest.raises(FileNotFoundError):
        artifacts.rollback(tmp_path, 7)
    _save(tmp_path, 2, parent=1)  # training goes on from the rolled-back state
    assert artifacts.latest_cycle(tmp_path) == 2


def test_prune_keeps_the_newest(tmp_path):
    for k in range(7):
        _save(tmp_path, k)
    assert artifacts.prune(tmp_path, 5) == [0, 1]
    assert artifacts.complete_cycles(tmp_path) == [2, 3, 4, 5, 6]
    with pytest.raises(ValueError):
        artifacts.prune(tmp_path, 0)


def test_unknown_manifest_format_rejected(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(ValueError):
        artifacts.read_manifest(tmp_path)
    with pytest.raises(FileNotFoundError):
        artifacts.read_manifest(tmp_path / "missing")
