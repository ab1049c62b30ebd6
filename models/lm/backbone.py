"""Building, loading and adapting the transformers backbones of both PCO models.

The built-in model is a small Qwen2 or Llama built from a config over the word-level
tokenizer; a checkpoint is any LOCAL Hugging Face folder (no hub is reachable: a name that is
not a folder fails at once with a clear message, never a hang).
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from peft import LoraConfig, PeftModel, TaskType, get_peft_model
from transformers import (
    AutoModelForCausalLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    LlamaConfig,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    PreTrainedTokenizerFast,
    Qwen2Config,
)

from models.lm.config import LMConfig, TrainSettings
from models.lm.tokenizer import encode_checked

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ARCHITECTURES = {"qwen2": Qwen2Config, "llama": LlamaConfig}
PLAIN_TOKENIZERS = ("PreTrainedTokenizerFast", "TokenizersBackend")


def check_local_checkpoint(path: str | os.PathLike) -> Path:
    """The checkpoint folder, or a clear error when it is a hub id or missing."""
    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"{str(path)!r} is not a local folder: no model hub is reachable; pass a local "
            "checkpoint folder (config.json + weights)"
        )
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"{folder} has no config.json: not a transformers checkpoint")
    return folder


def small_config(
    cfg: LMConfig, tokenizer: PreTrainedTokenizerBase, **extra: Any
) -> PretrainedConfig:
    """Config of the built-in model, sized by `cfg` and the tokenizer's vocabulary."""
    if cfg.architecture not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {cfg.architecture!r}; use {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[cfg.architecture](
        vocab_size=len(tokenizer),
        hidden_size=cfg.hidden_size,
        intermediate_size=cfg.intermediate_size,
        num_hidden_layers=cfg.num_layers,
        num_attention_heads=cfg.num_heads,
        num_key_value_heads=cfg.num_kv_heads,
        max_position_embeddings=cfg.max_positions,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        **extra,
    )


def _dtype(cfg: LMConfig) -> torch.dtype:
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[
        cfg.dtype
    ]


def build_model(
    cfg: LMConfig, tokenizer: PreTrainedTokenizerBase, kind: str, seed: int = 0
) -> PreTrainedModel:
    """A fresh base model: ``kind`` is 'causal' (Novelty LLM) or 'reward' (Relevance LLM)."""
    if cfg.checkpoint is not None:
        return load_base(cfg.checkpoint, kind, tokenizer, cfg)
    torch.manual_seed(seed)
    if kind == "causal":
        return AutoModelForCausalLM.from_config(small_config(cfg, tokenizer))
    return AutoModelForSequenceClassification.from_config(
        small_config(cfg, tokenizer, num_labels=1)
    )


def load_base(
    folder: str | os.PathLike, kind: str, tokenizer: PreTrainedTokenizerBase, cfg: LMConfig
) -> PreTrainedModel:
    """Load a base model from a local folder (a checkpoint or a saved built-in base)."""
    folder = check_local_checkpoint(folder)
    common = {"local_files_only": True, "dtype": _dtype(cfg)}
    if kind == "causal":
        model = AutoModelForCausalLM.from_pretrained(str(folder), **common)
    else:
        model = AutoModelForSequenceClassification.from_pretrained(
            str(folder), num_labels=1, **common
        )
    model.config.pad_token_id = tokenizer.pad_token_id  # a seq-cls model needs it (stack-notes)
    return model


def load_checkpoint_tokenizer(folder: str | os.PathLike) -> PreTrainedTokenizerBase:
    """A checkpoint's own tokenizer, left-padded, with a pad token.

    A folder whose tokenizer_config.json names a plain tokenizers backend (a word-level
    tokenizer.json, like ours) is loaded as `PreTrainedTokenizerFast`: AutoTokenizer would
    build the architecture's tokenizer (e.g. Qwen2's) and silently drop words (stack-notes).
    """
    folder = check_local_checkpoint(folder)
    cfg_file = folder / "tokenizer_config.json"
    cls = json.loads(cfg_file.read_text()).get("tokenizer_class") if cfg_file.is_file() else None
    loader = PreTrainedTokenizerFast if cls in PLAIN_TOKENIZERS else AutoTokenizer
    tok = loader.from_pretrained(str(folder), local_files_only=True)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    if tok.eos_token is None:
        raise ValueError(f"tokenizer of {folder} has no EOS token")
    encode_checked(tok, "Drama")
    tok.padding_side = "left"
    return tok


def lora_config(cfg: LMConfig, kind: str) -> LoraConfig:
    """LoRA of paper A.2: rank 8 on all linear layers (peft leaves the LM head out)."""
    return LoraConfig(
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules=cfg.target_modules,
        task_type=TaskType.CAUSAL_LM if kind == "causal" else TaskType.SEQ_CLS,
    )


def attach_lora(model: PreTrainedModel, cfg: LMConfig, kind: str) -> PeftModel:
    """Wrap a base in a fresh LoRA adapter named 'default' (identity at init: B = 0)."""
    return get_peft_model(model, lora_config(cfg, kind))


def load_adapter(
    base: PreTrainedModel, adapter_dir: str | os.PathLike, trainable: bool
) -> PeftModel:
    """Base + a saved adapter (stack-notes: is_trainable=True to continue training it)."""
    if not Path(adapter_dir, "adapter_config.json").is_file():
        raise FileNotFoundError(f"{adapter_dir} holds no adapter_config.json")
    return PeftModel.from_pretrained(base, str(adapter_dir), is_trainable=trainable)


def trainer_kwargs(settings: TrainSettings, builtin: bool, out_dir: str, progress: bool) -> dict:
    """TrainingArguments fields shared by the SFT, reward and DPO configs (CPU-safe)."""
    silence_progress(progress)
    cpu = settings.use_cpu or not torch.cuda.is_available()
    return {
        "output_dir": out_dir,
        "learning_rate": settings.lr(builtin),
        "num_train_epochs": settings.epochs,
        "per_device_train_batch_size": settings.batch_size,
        "gradient_accumulation_steps": settings.grad_accum,
        "max_length": settings.max_length,
        "weight_decay": settings.weight_decay,
        "warmup_steps": settings.warmup_ratio,
        "seed": settings.seed,
        "use_cpu": cpu,
        "bf16": settings.bf16 and not cpu,
        "fp16": False,
        "gradient_checkpointing": False,
        "save_strategy": "no",
        "report_to": [],
        "logging_steps": 1,
        "disable_tqdm": not progress,
        "dataloader_num_workers": 0,
    }


def holdout(examples: Sequence[dict], fraction: float, seed: int) -> tuple[list, list]:
    """(train, held-out) examples: a seeded random `fraction` held out (none when 0)."""
    rows = [dict(e) for e in examples]
    n_eval = int(len(rows) * fraction) if fraction > 0 else 0
    if n_eval == 0 or n_eval >= len(rows):
        return rows, []
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    held = set(order[:n_eval])
    return [r for i, r in enumerate(rows) if i not in held], [rows[i] for i in sorted(held)]


def early_stopping(settings: TrainSettings, held_out: Sequence[dict]) -> tuple[dict, list]:
    """Trainer arguments and callbacks that stop on the held-out loss (nothing without it)."""
    if not held_out:
        return {}, []
    from transformers import EarlyStoppingCallback

    args = {
        "eval_strategy": "epoch",
        "save_strategy": "epoch",
        "save_total_limit": 2,
        "load_best_model_at_end": True,
        "metric_for_best_model": "eval_loss",
        "greater_is_better": False,
        "per_device_eval_batch_size": settings.batch_size,
    }
    return args, [EarlyStoppingCallback(early_stopping_patience=settings.patience)]


def stopping_metrics(trainer, held_out: Sequence[dict]) -> dict:
    """Where early stopping ended: epochs run, best held-out loss (empty without it)."""
    if not held_out:
        return {}
    evals = [h["eval_loss"] for h in trainer.state.log_history if "eval_loss" in h]
    return {
        "held_out": len(held_out),
        "epochs_run": float(trainer.state.epoch or 0.0),
        "eval_losses": evals,
        "best_eval_loss": min(evals) if evals else float("nan"),
    }


def loss_curve(log_history: list[dict]) -> list[float]:
    """Training losses a trainer logged, in order."""
    return [float(h["loss"]) for h in log_history if "loss" in h]


def quiet(trainer) -> None:
    """Drop the callback that prints every log dict when tqdm is off."""
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)


def train_metrics(losses: list[float], result, n: int, epochs: float) -> dict:
    """Summary of one trainer run: loss at the start and end (mean of a tenth), throughput."""
    runtime = float(result.metrics.get("train_runtime", 0.0))
    k = max(1, len(losses) // 10)
    return {
        "examples": n,
        "steps": int(result.global_step),
        "loss_initial": losses[0] if losses else float("nan"),
        "loss_first": sum(losses[:k]) / k if losses else float("nan"),
        "loss_last": sum(losses[-k:]) / k if losses else float("nan"),
        "runtime_s": runtime,
        "examples_per_s": n * epochs / runtime if runtime > 0 else float("nan"),
    }


def silence_progress(progress: bool) -> None:
    """Turn the datasets/transformers progress bars (map, load, save) off unless asked for."""
    import datasets
    from transformers.utils import logging as hf_logging

    if progress:
        datasets.enable_progress_bars()
        hf_logging.enable_progress_bar()
    else:
        datasets.disable_progress_bars()
        hf_logging.disable_progress_bar()
