"""Representative users (paper eq. 7) and group profiles D_s (sec. 4.2.3, appendix A.1).

`representatives` picks, per group, the k users nearest the group centroid mu_s in u_long
space. A `ProfileBackend` turns the representatives' long-term sequences into a
`GroupProfile`. Two backends share that interface:

- `StatisticalProfileBackend` (default, no LLM): the group's characteristic categories, ranked
  by lift = share in the representatives' items / share in all users' long-term items (only
  over-represented categories, lift >= 1, holding at least `min_share` of the representatives'
  items; the most frequent category if none qualifies), and its most frequent items, written
  as one short sentence.
- `LLMProfileBackend`: prompts a LOCAL Hugging Face causal-LM checkpoint folder (e.g. a
  Qwen2.5-Instruct download) with the appendix A.1-style template; the structured fields come
  from the statistical backend. It never downloads anything (``local_files_only=True``).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

GENERIC_TOKENIZER_CLASSES = ("TokenizersBackend", "PreTrainedTokenizerFast")
PROFILE_PROMPT = (
    "Here are the long-term behaviour sequences of representative users of a user group:\n"
    "{sequences}\n"
    "Summarise the group's preferences in one sentence."
)


@dataclass
class GroupProfile:
    group: int
    csid: tuple[int, ...]
    text: str
    top_categories: list[str]
    top_items: list[str]
    representatives: list[str]
    size: int

    def to_json(self) -> dict:
        return asdict(self) | {"csid": list(self.csid)}

    @classmethod
    def from_json(cls, d: Mapping) -> GroupProfile:
        return cls(**{**d, "csid": tuple(d["csid"])})


@dataclass
class GroupMembers:
    """What a backend gets for one group."""

    group: int
    csid: tuple[int, ...]
    size: int
    representatives: list[str]  # user ids, nearest to the centroid first
    sequences: list[list[str]]  # I'_long of each representative, oldest first


class ProfileBackend(Protocol):
    def build(
        self,
        groups: Sequence[GroupMembers],
        item_categories: Mapping[str, str],
        category_prior: Mapping[str, float],
    ) -> list[GroupProfile]:
        """One profile per group; `category_prior` is the population's category shares."""
        ...


def representatives(u: np.ndarray, labels: np.ndarray, k: int) -> dict[int, list[int]]:
    """Eq. 7: per group, indices of the k rows of u nearest the group's centroid (nearest first)."""
    out = {}
    for g in np.unique(labels):
        members = np.flatnonzero(labels == g)
        dist = np.linalg.norm(u[members] - u[members].mean(0), axis=1)
        out[int(g)] = members[np.argsort(dist, kind="stable")[:k]].tolist()
    return out


def category_shares(sequences: Sequence[Sequence[str]], item_categories: Mapping[str, str]):
    counts = Counter(item_categories.get(i, "unknown") for s in sequences for i in s)
    total = sum(counts.values()) or 1
    return {c: n / total for c, n in counts.items()}


@dataclass
class StatisticalProfileBackend:
    n_categories: int = 3  # characteristic categories named in the text
    n_items: int = 5  # most frequent items named in the text
    min_share: float = 0.05  # a category needs this share of the group's items to be named
    item_names: Mapping[str, str] = field(default_factory=dict)  # optional id -> title

    def build(self, groups, item_categories, category_prior) -> list[GroupProfile]:
        return [self.profile(g, item_categories, category_prior) for g in groups]

    def profile(self, g: GroupMembers, item_categories, category_prior) -> GroupProfile:
        shares = category_shares(g.sequences, item_categories)
        lift = {c: s / max(category_prior.get(c, 0.0), 1e-9) for c, s in shares.items()}
        over = [c for c in shares if shares[c] >= self.min_share and lift[c] >= 1.0]
        cats = sorted(over, key=lambda c: (-lift[c], c))[: self.n_categories]
        if not cats and shares:  # nothing over-represented: name the most frequent category
            cats = [max(sorted(shares), key=shares.__getitem__)]
        items = [i for i, _ in Counter(i for s in g.sequences for i in s).most_common(self.n_items)]
        names = [self.item_names.get(i, i) for i in items]
        if cats:
            liked = ", ".join(f"{c} (x{lift[c]:.1f})" for c in cats)
            text = f"Group {g.group}: prefers {liked}; typical items: {', '.join(names)}."
        else:
            text = f"Group {g.group}: no long-term history."
        return GroupProfile(g.group, g.csid, text, cats, items, list(g.representatives), g.size)


def _check_local_checkpoint(model_dir: str | Path) -> Path:
    path = Path(model_dir).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(
            f"Profile LLM folder {path} does not exist: pass a local Hugging Face checkpoint "
            "folder (nothing is downloaded)"
        )
    if not (path / "config.json").is_file():
        raise FileNotFoundError(
            f"{path} has no config.json: not a Hugging Face checkpoint folder "
            "(save one with model.save_pretrained(path) and tokenizer.save_pretrained(path))"
        )
    return path


def load_local_causal_lm(model_dir: str | Path, device: str = "cpu"):
    """(model, tokenizer) from a local folder; never touches the hub.

    A folder whose tokenizer_config.json names a generic tokenizer class (``TokenizersBackend``
    or ``PreTrainedTokenizerFast``: what saving a bare ``tokenizers`` tokenizer writes, e.g. a
    word-level one) is loaded with `PreTrainedTokenizerFast`: AutoTokenizer would build the
    architecture's own tokenizer (Qwen2's BPE) and silently encode text to garbage.
    """
    path = _check_local_checkpoint(model_dir)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerFast

    tok_cfg = path / "tokenizer_config.json"
    tok_class = (
        json.loads(tok_cfg.read_text()).get("tokenizer_class") if tok_cfg.is_file() else None
    )
    generic = tok_class in GENERIC_TOKENIZER_CLASSES
    loader = PreTrainedTokenizerFast if generic else AutoTokenizer
    tokenizer = loader.from_pretrained(str(path), local_files_only=True)
    if not tokenizer("Summarise the group's preferences")["input_ids"]:
        raise ValueError(f"the tokenizer in {path} encodes text to nothing; check tokenizer.json")
    model = AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True).to(device)
    model.eval()
    return model, tokenizer


@dataclass
class LLMProfileBackend:
    model_dir: str  # local checkpoint folder (config.json, weights, tokenizer files)
    max_new_tokens: int = 48  # length of the generated sentence
    max_items_per_user: int = 20  # most recent items of each representative in the prompt
    item_names: Mapping[str, str] = field(default_factory=dict)  # optional id -> title
    device: str = "cpu"

    def __post_init__(self) -> None:
        _check_local_checkpoint(self.model_dir)  # fail early, before any training
        self._lm = None

    def prompt(self, g: GroupMembers, item_categories: Mapping[str, str]) -> str:
        lines = []
        for n, seq in enumerate(g.sequences, start=1):
            items = seq[-self.max_items_per_user :]
            shown = [
                f"{self.item_names.get(i, i)} ({item_categories.get(i, 'unknown')})" for i in items
            ]
            lines.append(f"User {n}: " + ", ".join(shown))
        return PROFILE_PROMPT.format(sequences="\n".join(lines))

    def generate(self, prompt: str) -> str:
        import torch

        if self._lm is None:
            self._lm = load_local_causal_lm(self.model_dir, self.device)
        model, tok = self._lm
        if getattr(tok, "chat_template", None):
            text = tok.apply_chat_template(
                [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
            )
        else:
            text = prompt
        enc = tok(text, return_tensors="pt").to(self.device)
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        with torch.no_grad():
            out = model.generate(
                **enc, max_new_tokens=self.max_new_tokens, do_sample=False, pad_token_id=pad
            )
        answer = tok.decode(out[0, enc["input_ids"].shape[1] :], skip_special_tokens=True)
        return answer.strip().split("\n")[0].strip()

    def build(self, groups, item_categories, category_prior) -> list[GroupProfile]:
        stats = StatisticalProfileBackend(item_names=self.item_names)
        out = []
        for g in groups:
            base = stats.profile(g, item_categories, category_prior)
            answer = self.generate(self.prompt(g, item_categories)) if g.sequences else ""
            base.text = answer or base.text  # an empty answer keeps the statistical text
            out.append(base)
        return out
