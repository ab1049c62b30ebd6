"""Configuration of a PCO run (paper sec. 4.3, appendix A.2-A.3, A.6).

Paper hyper-parameters are the defaults: SFT lr 1e-4, DPO lr 5e-6, beta 0.1, alpha 0.4,
tau_align 0.5, LoRA r=8 on all linear layers, 1% of D_k per cycle. The built-in from-scratch
model uses the `builtin_learning_rate` of each trainer instead (models/lm/config.py).
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field

from models.lm.config import DPOSettings, LMConfig, RewardSettings, SFTSettings
from models.lm.prompts import PromptBuilder

ABLATIONS = (
    "none",
    "no-long",
    "no-short",
    "no-rllm",
    "no-kl",
    "no-own-history",
    "no-history-mask",
    "no-debias",
    "no-history-steps",
    "no-group-lift",
    "no-fill",
)


def _reward_update() -> RewardSettings:
    return RewardSettings(epochs=1.0, builtin_learning_rate=1e-3, validation_fraction=0.0)


class DeviceUnavailable(RuntimeError):
    """The configured training device is not available on this machine."""


@dataclass
class PCOConfig:
    """Everything a PCO run needs; `to_json`/`from_json` round-trip it into manifests."""

    novelty: LMConfig = field(default_factory=LMConfig, metadata={"help": "Novelty LLM model."})
    relevance: LMConfig = field(default_factory=LMConfig, metadata={"help": "Relevance LLM model."})
    sft: SFTSettings = field(default_factory=SFTSettings, metadata={"help": "Eq. 9 SFT."})
    reward: RewardSettings = field(
        default_factory=RewardSettings, metadata={"help": "Initial reward-model training (eq. 12)."}
    )
    reward_update: RewardSettings = field(
        default_factory=_reward_update,
        metadata={"help": "Per-cycle reward-model update on the cycle's real pairs (LoRA)."},
    )
    dpo: DPOSettings = field(default_factory=DPOSettings, metadata={"help": "Eq. 16-17 DPO + KL."})
    fraction: float = field(
        default=0.01, metadata={"help": "Share of D_k sampled per cycle (eq. 15)."}
    )
    min_samples: int = field(
        default=64,
        metadata={"help": "At least this many contexts per cycle (tiny data still trains)."},
    )
    m_candidates: int = field(default=10, metadata={"help": "M: candidates generated per user."})
    tau_align: float = field(
        default=0.5, metadata={"help": "Keep candidates with s_i > tau (eq. 14)."}
    )
    keep_cycles: int = field(default=5, metadata={"help": "Complete cycle folders kept on disk."})
    novel_only_sft: bool = field(
        default=True,
        metadata={"help": "SFT targets must be absent from the long-term history (eq. 8)."},
    )
    trigger_in_sft: bool = field(
        default=True,
        metadata={"help": "SFT prompts with a novel target carry the novelty trigger."},
    )
    min_context: int = field(default=2, metadata={"help": "Categories of context a step needs."})
    n_prompt_categories: int = field(
        default=2, metadata={"help": "Categories in a prompt (appendix A.2: last two of C'_short)."}
    )
    max_profile_words: int = field(
        default=48, metadata={"help": "Profile words kept (tokens style)."}
    )
    n_long_categories: int = field(
        default=8,
        metadata={
            "help": "The user's most clicked long-term categories in every prompt (0: the "
            "paper's prompts, group profile and recent categories only)."
        },
    )
    step_source: str = field(
        default="history-switches",
        metadata={
            "help": "Where training steps come from: 'recent' (the steps of the last K "
            "clicks, the paper's S_short), 'history' (every category discovery along the "
            "user's whole click history) or 'history-switches' (every change of category "
            "along it; novelty then comes from masking the user's clicked categories)."
        },
    )
    exclude_history: bool = field(
        default=True,
        metadata={
            "help": "Candidates exclude every category the user ever clicked (long and short "
            "term), not only C'_short; serving applies the same rule."
        },
    )
    debias: float = field(
        default=0.5,
        metadata={
            "help": "Popularity debiasing of generation: rank by log pi(c|x) - debias * log "
            "pi(c), pi(c) the model's mean over the contexts scored together (0: plain "
            "log-probabilities, eq. 10)."
        },
    )
    group_lift: bool = field(
        default=True,
        metadata={
            "help": "Group fallback rows rank the group's accepted categories by how much more "
            "its keys accept them than all keys do (False: by summed acceptance)."
        },
    )
    fill_to: int = field(
        default=10,
        metadata={
            "help": "Serving completes a key row with fewer categories than this from the "
            "group's fallback row, then the default group's (0: the key row alone)."
        },
    )
    use_long_term: bool = field(default=True, metadata={"help": "False: ablation w/o long-term."})
    use_short_term: bool = field(default=True, metadata={"help": "False: ablation w/o short-term."})
    use_relevance: bool = field(
        default=True, metadata={"help": "False: ablation w/o R-LLM (no filter, no DPO)."}
    )
    seed: int = field(default=0, metadata={"help": "Seed of sampling and trainers."})
    progress: bool = field(
        default=False, metadata={"help": "Show the trainers' own progress bars."}
    )

    @property
    def prompt_style(self) -> str:
        return "tokens" if self.novelty.builtin else "text"

    def builder(self) -> PromptBuilder:
        return PromptBuilder(
            style=self.prompt_style,
            use_profile=self.use_long_term,
            use_short=self.use_short_term,
            n_categories=self.n_prompt_categories,
            max_profile_words=self.max_profile_words,
            n_long=self.n_long_categories,
        )

    def with_ablation(self, name: str) -> PCOConfig:
        """A copy with one of ABLATIONS applied."""
        if name not in ABLATIONS:
            raise ValueError(f"unknown ablation {name!r}; expected one of {ABLATIONS}")
        changes = {
            "none": {},
            "no-long": {"use_long_term": False},
            "no-short": {"use_short_term": False},
            "no-rllm": {"use_relevance": False},
            "no-kl": {"dpo": dataclasses.replace(self.dpo, alpha=0.0)},
            "no-own-history": {"n_long_categories": 0},
            "no-history-mask": {"exclude_history": False},
            "no-debias": {"debias": 0.0},
            "no-history-steps": {"step_source": "recent"},
            "no-group-lift": {"group_lift": False},
            "no-fill": {"fill_to": 0},
        }[name]
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> PCOConfig:
        nested = {
            "novelty": LMConfig,
            "relevance": LMConfig,
            "sft": SFTSettings,
            "reward": RewardSettings,
            "reward_update": RewardSettings,
            "dpo": DPOSettings,
        }
        kwargs = {k: (nested[k](**v) if k in nested else v) for k, v in d.items()}
        return cls(**kwargs)

    def on_device(self, device: str) -> PCOConfig:
        """The same config with every trainer on `device` ('cpu' or 'cuda'; bf16 mixed
        precision on cuda). Raises DeviceUnavailable for 'cuda' when no GPU is visible."""
        if device not in ("cpu", "cuda"):
            raise ValueError(f"device must be 'cpu' or 'cuda', not {device!r}")
        if device == "cuda":
            import torch

            if not torch.cuda.is_available():
                raise DeviceUnavailable("device 'cuda' was asked for but torch sees no GPU")
        run = {"use_cpu": device == "cpu", "bf16": device == "cuda"}
        return dataclasses.replace(
            self,
            **{
                name: dataclasses.replace(getattr(self, name), **run)
                for name in ("sft", "reward", "reward_update", "dpo")
            },
        )

    def with_checkpoint(self, path: str | None) -> PCOConfig:
        """Both LLMs from a local checkpoint folder (None: the built-in models)."""
        if path is None:
            return self
        return dataclasses.replace(
            self,
            novelty=dataclasses.replace(self.novelty, checkpoint=str(path)),
            relevance=dataclasses.replace(self.relevance, checkpoint=str(path)),
        )

    @classmethod
    def tiny(cls, **overrides) -> PCOConfig:
        """Small, fast settings for tests and the demo: small batches, at most 8 epochs, and
        M = 20 candidates per key ranked by pointwise mutual information (`debias` 1.0). A
        small model trained for a few epochs on little data proposes nearly its marginal for
        every context; only the full debiasing leaves what is specific to the context, and
        the longer candidate lists give the group rows more of it (docs/pco.md has the
        measurements)."""
        base = cls(
            sft=SFTSettings(epochs=8.0, batch_size=16),
            reward=RewardSettings(epochs=8.0, batch_size=16),
            reward_update=RewardSettings(
                epochs=1.0, batch_size=16, builtin_learning_rate=1e-3, validation_fraction=0.0
            ),
            dpo=DPOSettings(epochs=1.0, batch_size=8),
            min_samples=16,
            debias=1.0,
            m_candidates=20,
        )
        return dataclasses.replace(base, **overrides)
