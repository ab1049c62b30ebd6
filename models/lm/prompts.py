"""Prompts of the Novelty and Relevance LLMs (paper eq. 8 and 11, appendix A.2-A.3).

One builder serves both models and both styles:

- ``tokens``: compact prompts over the built-in word-level tokenizer
  (``<bos> <profile> words <g12> <short> Drama Comedy <novel>``);
- ``text``: appendix-style templates (#Profile / #Categories, #Category1 / #Category2) for any
  local Hugging Face checkpoint. The paper's Figure 7 templates are images; the wording below
  follows the fields the appendix names.

Length rule (appendix A.2): fine-tuning prompts hold S_short(t-2:t-1), two categories; an
inference prompt holds C'_short, so when lengths differ the LAST TWO categories of C'_short are
used (`n_categories`). Completions start with a space (trl joins prompt and completion as
strings).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from models.lm.tokenizer import BOS, CANDIDATE, NOVEL, PROFILE, SHORT, group_token

STYLES = ("tokens", "text")

NOVELTY_TEMPLATE = (
    "You are a recommendation assistant.\n"
    "#Profile: {profile}\n"
    "#Categories: {categories}\n"
    "{instruction}\n"
    "#Answer:"
)
NEXT_INSTRUCTION = "Name the category of the user's next click."
NOVELTY_TRIGGER = (
    "Recommend one novel category that this user has never interacted with but is likely to enjoy."
)
RELEVANCE_TEMPLATE = (
    "You are a recommendation assistant judging relevance.\n"
    "#Profile: {profile}\n"
    "#Category1: {categories}\n"
    "Is the following category relevant to this user?\n"
    "#Category2:"
)


def last_categories(categories: Sequence[str], n: int = 2) -> list[str]:
    """The last n categories (appendix A.2 rule when prompt lengths differ)."""
    return list(categories)[-n:] if n > 0 else list(categories)


def completion(category: str) -> str:
    """The completion text of a category (leading space: trl joins strings)."""
    return " " + category


@dataclass(frozen=True)
class PromptBuilder:
    """Builds P_ft-nov / P_infer-nov (eq. 8) and P_ft-rel / P_infer-rel (eq. 11)."""

    style: str = "tokens"  # "tokens" (built-in tokenizer) or "text" (checkpoint templates)
    use_profile: bool = True  # False: ablation "w/o long-term" (no group, no profile)
    use_short: bool = True  # False: ablation "w/o short-term" (no categories)
    n_categories: int = 2  # categories kept in a prompt (appendix A.2: two)
    max_profile_words: int = 48  # tokens style: profile words kept

    def __post_init__(self) -> None:
        if self.style not in STYLES:
            raise ValueError(f"unknown prompt style {self.style!r}; expected one of {STYLES}")

    def novelty(
        self, profile: str, group: int | None, categories: Sequence[str], trigger: bool
    ) -> str:
        """P_ft-nov (trigger=False or True, see docs/pco.md) or P_infer-nov (trigger=True)."""
        cats = self._categories(categories)
        if self.style == "tokens":
            head = self._token_head(profile, group, cats)
            return f"{head} {NOVEL}" if trigger else head
        return NOVELTY_TEMPLATE.format(
            profile=self._profile_text(profile),
            categories=", ".join(cats) if cats else "(none)",
            instruction=NOVELTY_TRIGGER if trigger else NEXT_INSTRUCTION,
        )

    def relevance(self, profile: str, group: int | None, categories: Sequence[str]) -> str:
        """The prompt part of P_ft-rel / P_infer-rel; the candidate is its `completion`."""
        cats = self._categories(categories)
        if self.style == "tokens":
            return f"{self._token_head(profile, group, cats)} {CANDIDATE}"
        return RELEVANCE_TEMPLATE.format(
            profile=self._profile_text(profile), categories=", ".join(cats) if cats else "(none)"
        )

    def relevance_text(
        self, profile: str, group: int | None, categories: Sequence[str], candidate: str
    ) -> str:
        """The whole P_infer-rel text (prompt + candidate), without EOS."""
        return self.relevance(profile, group, categories) + completion(candidate)

    def _categories(self, categories: Sequence[str]) -> list[str]:
        return last_categories(categories, self.n_categories) if self.use_short else []

    def _token_head(self, profile: str, group: int | None, cats: list[str]) -> str:
        parts = [BOS]
        if self.use_profile:
            words = profile.split()[: self.max_profile_words]
            parts += [PROFILE, *words, group_token(group)]
        parts += [SHORT, *cats]
        return " ".join(parts)

    def _profile_text(self, profile: str) -> str:
        return profile.strip() if self.use_profile and profile.strip() else "(no profile)"
