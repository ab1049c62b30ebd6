"""Configuration of the PCO language models and their trainers (paper appendix A.2, A.3, A.6).

Paper values are the defaults wherever the paper gives one. Learning rates come in pairs: the
paper's value (LoRA on a 7B checkpoint) and a larger one for the built-in from-scratch model,
whose few thousand random parameters barely move at 1e-4 / 5e-6 in the handful of steps a
cycle has (see docs/pco.md, "Learning rates").
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class LMConfig:
    """Which model to build: the built-in small model or a local checkpoint folder."""

    checkpoint: str | None = field(
        default=None,
        metadata={
            "help": "Local Hugging Face checkpoint folder (e.g. a Qwen2.5-7B-Instruct download). "
            "None builds the small model below from a config and trains it from scratch."
        },
    )
    architecture: str = field(
        default="qwen2", metadata={"help": "Built-in model family: 'qwen2' or 'llama'."}
    )
    hidden_size: int = field(default=64, metadata={"help": "Built-in model width."})
    intermediate_size: int = field(default=128, metadata={"help": "Built-in MLP width."})
    num_layers: int = field(default=2, metadata={"help": "Built-in decoder layers."})
    num_heads: int = field(default=4, metadata={"help": "Built-in attention heads."})
    num_kv_heads: int = field(default=2, metadata={"help": "Built-in key/value heads (GQA)."})
    max_positions: int = field(default=256, metadata={"help": "Built-in context length."})
    lora_r: int = field(default=8, metadata={"help": "LoRA rank (paper A.2: 8)."})
    lora_alpha: int = field(default=16, metadata={"help": "LoRA scaling numerator."})
    lora_dropout: float = field(default=0.0, metadata={"help": "LoRA dropout."})
    target_modules: str | list[str] = field(
        default="all-linear",
        metadata={"help": "LoRA targets (paper A.2: all linear layers; peft skips the LM head)."},
    )
    dtype: str = field(
        default="float32",
        metadata={"help": "Weights dtype: float32 (CPU) or bfloat16 (GPU, large checkpoints)."},
    )

    @property
    def builtin(self) -> bool:
        return self.checkpoint is None


@dataclass
class TrainSettings:
    """Settings shared by the three trainers (trl configs are built from these)."""

    learning_rate: float = field(default=1e-4, metadata={"help": "Learning rate for checkpoints."})
    builtin_learning_rate: float = field(
        default=3e-3, metadata={"help": "Learning rate for the built-in from-scratch model."}
    )
    epochs: float = field(default=1.0, metadata={"help": "Passes over the training examples."})
    batch_size: int = field(default=16, metadata={"help": "Per-device batch size."})
    grad_accum: int = field(default=1, metadata={"help": "Gradient accumulation steps."})
    max_length: int = field(default=128, metadata={"help": "Token cap per sequence."})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay."})
    warmup_ratio: float = field(default=0.0, metadata={"help": "Linear warm-up share."})
    seed: int = field(default=0, metadata={"help": "Trainer seed (data order, LoRA init)."})
    validation_fraction: float = field(
        default=0.0,
        metadata={
            "help": "Share of the examples held out; when > 0, training stops once their loss "
            "has not fallen for `patience` epochs and keeps the best epoch (`epochs` is then "
            "the most it may take)."
        },
    )
    patience: int = field(default=1, metadata={"help": "Epochs without improvement to stop."})
    use_cpu: bool = field(
        default=True,
        metadata={"help": "Train on CPU even if a GPU is visible (trl defaults are GPU-minded)."},
    )
    bf16: bool = field(
        default=False,
        metadata={"help": "bf16 mixed precision when training on a GPU (ignored on CPU)."},
    )

    def lr(self, builtin: bool) -> float:
        return self.builtin_learning_rate if builtin else self.learning_rate


@dataclass
class SFTSettings(TrainSettings):
    """Novelty LLM supervised fine-tuning (eq. 9; paper A.2: LoRA r=8, lr 1e-4, batch 2x2)."""

    epochs: float = field(
        default=16.0, metadata={"help": "Most passes over the SFT examples (early stopping)."}
    )
    batch_size: int = field(default=32, metadata={"help": "Per-device batch size."})
    validation_fraction: float = field(
        default=0.1, metadata={"help": "Held-out share of the examples that stops training."}
    )
    full_finetune_builtin: bool = field(
        default=True,
        metadata={
            "help": "Train ALL weights of the built-in model in SFT (a random base under LoRA-only "
            "learns poorly). Checkpoints always use LoRA."
        },
    )


@dataclass
class RewardSettings(TrainSettings):
    """Relevance LLM Bradley-Terry training (eq. 12; paper A.3: same setup as the Novelty LLM)."""

    epochs: float = field(
        default=12.0, metadata={"help": "Most passes over the (pos, neg) pairs (early stopping)."}
    )
    batch_size: int = field(default=32, metadata={"help": "Per-device batch size."})
    validation_fraction: float = field(
        default=0.1, metadata={"help": "Held-out share of the pairs that stops training."}
    )
    builtin_learning_rate: float = field(
        default=2e-3, metadata={"help": "Learning rate for the built-in from-scratch model."}
    )
    center_rewards_coefficient: float | None = field(
        default=0.01,
        metadata={
            "help": "Pull mean rewards to 0 so that sigmoid(reward) > 0.5 means 'above an average "
            "candidate' (the calibration behind tau_align)."
        },
    )
    full_finetune_builtin: bool = field(
        default=True, metadata={"help": "Train all weights of the built-in reward model initially."}
    )


@dataclass
class DPOSettings(TrainSettings):
    """Novelty LLM incremental DPO + KL (eq. 16-17; paper A.2: beta 0.1, sigmoid, lr 5e-6)."""

    learning_rate: float = field(default=5e-6, metadata={"help": "Paper A.2 DPO learning rate."})
    builtin_learning_rate: float = field(
        default=5e-4, metadata={"help": "DPO learning rate for the built-in model (LoRA)."}
    )
    epochs: float = field(default=2.0, metadata={"help": "Passes over one cycle's DPO pairs."})
    batch_size: int = field(default=16, metadata={"help": "Per-device batch size (pairs)."})
    beta: float = field(default=0.1, metadata={"help": "DPO temperature beta (paper: 0.1)."})
    alpha: float = field(
        default=0.4, metadata={"help": "KL coefficient alpha of eq. 17 (paper: 0.4)."}
    )
    loss_type: str = field(default="sigmoid", metadata={"help": "DPO loss (paper: sigmoid)."})
