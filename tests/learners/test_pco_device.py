"""Choosing the learner's device and checkpoint: config wiring and the clear errors."""

from __future__ import annotations

import os
import subprocess

import pytest
import torch

from learners.engine import engine_config
from learners.pco.config import DeviceUnavailable, PCOConfig
from stream_app.testing import COEA

TRAINERS = ("sft", "reward", "reward_update", "dpo")


def test_cpu_is_the_default_and_on_device_sets_every_trainer():
    cfg = PCOConfig()
    assert all(getattr(cfg, t).use_cpu and not getattr(cfg, t).bf16 for t in TRAINERS)
    again = PCOConfig.tiny().on_device("cpu")
    assert all(getattr(again, t).use_cpu for t in TRAINERS)
    with pytest.raises(ValueError, match="cpu' or 'cuda"):
        cfg.on_device("tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without GPU")
def test_cuda_without_a_gpu_is_a_clear_error():
    with pytest.raises(DeviceUnavailable, match="no GPU"):
        PCOConfig().on_device("cuda")
    proc = subprocess.run(
        [COEA, "learner", "--until-cycle", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COEA_LEARNER_DEVICE": "cuda"},
    )
    assert proc.returncode != 0
    assert "COEA_LEARNER_DEVICE" in proc.stderr and "no GPU" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU (none on CI)")
def test_cuda_turns_on_gpu_training_with_bf16():
    cfg = PCOConfig().on_device("cuda")
    assert all(not getattr(cfg, t).use_cpu and getattr(cfg, t).bf16 for t in TRAINERS)


def test_engine_config_passes_the_checkpoint_to_both_llms(tmp_path):
    cfg = engine_config("small", 3, checkpoint=str(tmp_path), device="cpu")
    assert cfg.pco.novelty.checkpoint == cfg.pco.relevance.checkpoint == str(tmp_path)
    assert cfg.seed == 3 and cfg.dsie.n_groups == 20
    assert engine_config("default", 0).pco.novelty.checkpoint is None
