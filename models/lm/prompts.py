"""Prompts of the Novelty and Relevance LLMs (paper eq. 8 and 11, appendix A.2-A.3).

One builder serves both models and both styles:

- ``tokens``: compact prompts over the built-in word-level tokenizer
  (``<bos> <profile> words <g12> <long> Drama War <short> Drama Comedy <novel>``);
- ``text``: appendix-style templates (#Profile / #History / #Categories, #Category1 /
  #Category2) for any local Hugging Face checkpoint. The paper's Figure 7 templates are images;
  the wording below follows the fields the appendix names.

The user's own long-term categories (``n_long`` of them, most clicked first; `long_summary`)
follow the group's profile when ``n_long`` > 0: the group says what users like this one
click, the long-term categories say what this user already knows, so the models can tell a
category that is new to the user from one that is merely popular in the group. ``n_long`` = 0
gives the paper's prompts (profile and recent categories only).

Length rule (appendix A.2): fine-tuning prompts hold S_short(t-2:t-1), two categories; an
inference prompt holds C'_short, so when lengths differ the LAST TWO categories of C'_short are
used (`n_categories`). Completions start with a space (trl joins prompt and completion as
strings).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from models.lm.tokenizer import BOS, CANDIDATE, LONG, NOVEL, PROFILE, SHORT, group_token

STYLES = ("tokens", "text")

NOVELTY_TEMPLATE = (
    "You are a recommendation assistant.\n"
    "#Profile: {profile}\n"
    "{history}"
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
    "{history}"
    "#Category1: {categories}\n"
    "Is the following category relevant to this user?\n"
    "#Category2:"
)


def last_categories(categories: Sequence[str], n: int = 2) -> list[str]:
    """The last n categories (appendix A.2 rule when prompt lengths differ)."""
    return list(categories)[-n:] if n > 0 else list(categories)


def long_summary(long_categories: Sequence[str], n: int) -> list[str]:
    """The user's n most clicked long-term categories, most clicked first (ties: the more
    recently clicked first)."""
    if n <= 0:
        return []
    counts = Counter(long_categories)
    last = {c: i for i, c in enumerate(long_categories)}
    return sorted(counts, key=lambda c: (-counts[c], -last[c]))[:n]


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
    n_long: int = 0  # the user's long-term categories in a prompt (0: none, the paper's)

    def __post_init__(self) -> None:
        if self.style not in STYLES:
            raise ValueError(f"unknown prompt style {self.style!r}; expected one of {STYLES}")

    def novelty(
        self,
        profile: str,
        group: int | None,
        categories: Sequence[str],
        trigger: bool,
        long: Sequence[str] = (),
    ) -> str:
        """P_ft-nov (trigger=False or True, see docs/pco.md) or P_infer-nov (trigger=True).

        `long`: the user's long-term categories (`UserContext.long_categories`); the prompt
        holds their `long_summary` when `n_long` > 0."""
        cats = self._categories(categories)
        if self.style == "tokens":
            head = self._token_head(profile, group, cats, long)
            return f"{head} {NOVEL}" if trigger else head
        return NOVELTY_TEMPLATE.format(
            profile=self._profile_text(profile),
            history=self._history_text(long),
            categories=", ".join(cats) if cats else "(none)",
            instruction=NOVELTY_TRIGGER if trigger else NEXT_INSTRUCTION,
        )

    def relevance(
        self,
        profile: str,
        group: int | None,
        categories: Sequence[str],
        long: Sequence[str] = (),
    ) -> str:
        """The prompt part of P_ft-rel / P_infer-rel; the candidate is its `completion`."""
        cats = self._categories(categories)
        if self.style == "tokens":
            return f"{self._token_head(profile, group, cats, long)} {CANDIDATE}"
        return RELEVANCE_TEMPLATE.format(
            profile=self._profile_text(profile),
            history=self._history_text(long),
            categories=", ".join(cats) if cats else "(none)",
        )

    def relevance_text(
        self,
        profile: str,
        group: int | None,
        categories: Sequence[str],
        candidate: str,
        long: Sequence[str] = (),
    ) -> str:
        """The whole P_infer-rel text (prompt + candidate), without EOS."""
        return self.relevance(profile, group, categories, long) + completion(candidate)

    def _categories(self, categories: Sequence[str]) -> list[str]:
        return last_categories(categories, self.n_categories) if self.use_short else []

    def _long(self, long: Sequence[str]) -> list[str]:
        return long_summary(long, self.n_long) if self.use_profile else []

    def _token_head(
        self, profile: str, group: int | None, cats: list[str], long: Sequence[str]
    ) -> str:
        parts = [BOS]
        if self.use_profile:
            words = profile.split()[: self.max_profile_words]
            parts += [PROFILE, *words, group_token(group)]
        own = self._long(long)
        if own:
            parts += [LONG, *own]
        parts += [SHORT, *cats]
        return " ".join(parts)

    def _history_text(self, long: Sequence[str]) -> str:
        own = self._long(long)
        return f"#History: {', '.join(own)}\n" if own else ""

    def _profile_text(self, profile: str) -> str:
        return profile.strip() if self.use_profile and profile.strip() else "(no profile)"
