"""The two PCO models in memory (`PCOModels`), their cycle-0 training and loading from artifacts.

Cycle 0 (`bootstrap`): build the tokenizer, SFT the Novelty LLM (eq. 9), train the Relevance
LLM (eq. 12), then save. The built-in from-scratch models are fully fine-tuned in cycle 0 and
saved as base weights; a fresh LoRA adapter (B = 0, so identical to the base) is attached to
each, and cycles 1.. train only those adapters. A checkpoint is trained with LoRA from the
start (paper A.2) and its weights are never copied: the base manifest records its path.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from learners.pco import artifacts
from learners.pco.config import PCOConfig
from learners.pco.data import NegativeSampler, UserContext, reward_pairs, sft_examples
from models.lm.backbone import (
    attach_lora,
    build_model,
    load_adapter,
    load_base,
    load_checkpoint_tokenizer,
    silence_progress,
)
from models.lm.novelty import CategoryScorer, train_sft
from models.lm.relevance import RewardScorer, train_reward
from models.lm.tokenizer import build_tokenizer, load_tokenizer


@dataclass
class PCOModels:
    """Novelty LLM (causal LM + LoRA), Relevance LLM (reward model + LoRA) and what they share."""

    novelty: object  # peft.PeftModel
    relevance: object  # peft.PeftModel
    tokenizer: object
    categories: list[str]
    config: PCOConfig
    cycle: int = 0

    def category_scorer(self) -> CategoryScorer:
        return CategoryScorer(self.novelty, self.tokenizer, self.categories)

    def reward_scorer(self) -> RewardScorer:
        return RewardScorer(self.relevance, self.tokenizer)


def _check_models(config: PCOConfig) -> None:
    if config.novelty.builtin != config.relevance.builtin:
        raise ValueError(
            "Novelty and Relevance LLMs must both be built-in or both checkpoints (they share "
            "one tokenizer and one prompt style)"
        )


def make_tokenizer(config: PCOConfig, categories: Sequence[str], profiles: Mapping[int, str]):
    """The built-in word-level tokenizer, or the Novelty checkpoint's own tokenizer."""
    if config.novelty.builtin:
        return build_tokenizer(categories, groups=profiles.keys(), texts=profiles.values())
    return load_checkpoint_tokenizer(config.novelty.checkpoint)


def bootstrap(
    contexts: Sequence[UserContext],
    categories: Sequence[str],
    profiles: Mapping[int, str],
    config: PCOConfig,
    root: str | Path,
    data_window: dict | None = None,
) -> tuple[PCOModels, dict]:
    """Cycle 0: SFT + reward training on `contexts`, saved as base/ and cycle-0000/."""
    _check_models(config)
    silence_progress(config.progress)
    cats = list(categories)
    tok = make_tokenizer(config, cats, profiles)
    lm, lm_base, sft_metrics = _train_novelty(contexts, tok, config)
    rm, rm_base, rm_metrics = _train_relevance(contexts, cats, tok, config)
    info = {
        "categories": cats,
        "builtin": config.novelty.builtin,
        "novelty_base": config.novelty.checkpoint or "novelty",
        "relevance_base": config.relevance.checkpoint or "relevance",
        "config": config.to_json(),
    }
    artifacts.save_base(root, lm_base, rm_base, tok, info)
    # a fully trained built-in base gets its (identity) LoRA adapter now; cycles train it
    novelty = attach_lora(lm, config.novelty, "causal") if lm is lm_base else lm
    relevance = attach_lora(rm, config.relevance, "reward") if rm is rm_base else rm
    models = PCOModels(novelty, relevance, tok, cats, config, cycle=0)
    metrics = {**sft_metrics, **rm_metrics}
    manifest = {"parent_cycle": None, "data_window": data_window or {}, "metrics": metrics}
    artifacts.save_cycle(root, 0, novelty, relevance, tok, manifest | {"config": config.to_json()})
    return models, metrics


def _train_novelty(contexts, tok, config: PCOConfig):
    """SFT (eq. 9). Returns (model, base to save or None, metrics)."""
    builder = config.builder()
    examples = sft_examples(
        contexts,
        builder,
        config.novel_only_sft,
        config.trigger_in_sft,
        config.min_context,
        config.step_source,
    )
    full = config.novelty.builtin and config.sft.full_finetune_builtin
    lm = build_model(config.novelty, tok, "causal", seed=config.seed)
    base = lm if full else _builtin_init(lm, config.novelty.builtin)
    lm, metrics = train_sft(lm, tok, examples, config.sft, config.novelty, config.progress)
    return lm, base, {"sft": metrics, "sft_examples": len(examples)}


def _train_relevance(contexts, cats, tok, config: PCOConfig):
    """Bradley-Terry (eq. 12). Returns (model, base to save or None, metrics)."""
    pairs = reward_pairs(
        contexts,
        config.builder(),
        NegativeSampler.from_contexts(contexts, cats),
        random.Random(config.seed),
        config.min_context,
        config.step_source,
    )
    full = config.relevance.builtin and config.reward.full_finetune_builtin
    rm = build_model(config.relevance, tok, "reward", seed=config.seed)
    base = rm if full else _builtin_init(rm, config.relevance.builtin)
    rm, m = train_reward(
        rm, tok, pairs, config.reward, config.relevance, lora=not full, progress=config.progress
    )
    exposed = sum(p["exposed"] for p in pairs)
    return rm, base, {"reward": m, "reward_pairs": len(pairs), "reward_pairs_exposed": exposed}


def _builtin_init(model, builtin: bool):
    """A copy of a built-in model's random init (its LoRA-trained base must be saved too)."""
    return copy.deepcopy(model) if builtin else None


def load_models(
    root: str | Path, cycle: int | None = None, config: PCOConfig | None = None
) -> PCOModels:
    """Models of a complete cycle (default: the latest), adapters trainable to continue."""
    root = Path(root)
    cycle = artifacts.latest_cycle(root) if cycle is None else cycle
    if cycle is None:
        raise FileNotFoundError(f"no complete PCO cycle under {root}")
    base = artifacts.read_manifest(root / artifacts.BASE)
    folder = artifacts.cycle_dir(root, cycle)
    manifest = artifacts.read_manifest(folder)
    config = config or PCOConfig.from_json(manifest["config"])
    silence_progress(config.progress)
    if base["builtin"]:
        tok = load_tokenizer(root / artifacts.BASE / "tokenizer")
    else:
        tok = load_checkpoint_tokenizer(base["novelty_base"])
    bases = {
        k: _base_path(root, base[f"{k}_base"], base["builtin"]) for k in ("novelty", "relevance")
    }
    lm = load_base(bases["novelty"], "causal", tok, config.novelty)
    rm = load_base(bases["relevance"], "reward", tok, config.relevance)
    novelty = load_adapter(lm, folder / "novelty", trainable=True)
    relevance = load_adapter(rm, folder / "relevance", trainable=True)
    return PCOModels(novelty, relevance, tok, list(base["categories"]), config, cycle=cycle)


def _base_path(root: Path, name: str, builtin: bool) -> Path:
    return root / artifacts.BASE / name if builtin else Path(name)
