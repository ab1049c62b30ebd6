"""PCO input contract (`UserContext`) and the training examples built from it.

Steps. For a click sequence C_short, a *step* is a click whose category is new to the clicks
before it (inside the window): its prefix's ordered set C'_short (last-occurrence order, as
`coea.state.ordered_set_last`) is the context and the category is the target. A
step needs `min_context` (default 2) categories of context: the S_short(t-2:t-1) of eq. 8-9.
The prompt of a step is built exactly like an inference prompt over that prefix (the last two
categories of its C'_short), so fine-tuning and inference prompts agree.

- SFT (eq. 9): steps whose target is also absent from the user's long-term history, when
  `novel_only` (default; eq. 8 requires S_short(t) not to appear in I_long).
- Reward pairs (eq. 11-12): every step; c_pos = its target, c_neg = a sampled negative.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from coea.state import merge_window_negatives, move_to_end, ordered_set_last, split_short
from models.lm.prompts import PromptBuilder, completion


@dataclass(frozen=True)
class UserContext:
    user_id: str
    group: int  # DSIE group id (or a cold-start default; -1 = no group)
    profile: str  # group profile text D_s
    short_seq: list[str]  # S_short / C_short, chronological categories of recent clicks
    negatives: list[str]  # exposed-but-unclicked categories
    long_categories: list[str] = ()  # categories of the long-term clicks (prompts, novelty)
    key_short: tuple[str, ...] | None = None  # C'_short as serving keys it (None: short_set)
    clicked_categories: Sequence[str] = ()  # every category the user clicked (exclusion)

    @property
    def short_set(self) -> list[str]:
        """C'_short: the ordered set of short_seq (last occurrence order)."""
        return ordered_set_last(self.short_seq)

    @property
    def table_short(self) -> tuple[str, ...]:
        """The C'_short of this user's table key: what serving computes from the stream state
        (`coea.table.key_short_set`), which may hold categories the models do not know."""
        return tuple(self.short_set) if self.key_short is None else tuple(self.key_short)

    @property
    def history(self) -> set[str]:
        """C_hist: every category the user clicked (long and short)."""
        return set(self.long_categories) | set(self.short_seq) | set(self.clicked_categories)


def steps(
    short_seq: Sequence[str], exclude: Iterable[str] = (), min_context: int = 2
) -> list[tuple[list[str], str]]:
    """(prefix C'_short, target) for each click new to its prefix and not in `exclude`."""
    exclude = set(exclude)
    out = []
    for j, c in enumerate(short_seq):
        prefix = ordered_set_last(short_seq[:j])
        if c not in prefix and len(prefix) >= min_context and c not in exclude:
            out.append((prefix, c))
    return out


STEP_SOURCES = ("recent", "history", "history-switches")


def discoveries(
    ctx: UserContext, min_context: int = 2, source: str = "recent"
) -> list[tuple[list[str], list[str], str]]:
    """The user's steps as (long-term categories before it, prefix C'_short, target).

    - ``recent``: the steps of C_short (`steps`), each with the whole long-term history
      before it (the paper's S_short steps).
    - ``history``: every discovery along the user's whole click history, the long-term
      categories (I'_long, oldest first) followed by C_short: each click on a category the
      user had never clicked before, with what was clicked before it as its long-term part
      and the ordered set of it as its prefix. Every target is new to the user at that time
      (the meaning of eq. 8), and a user gives one example per category they went on to
      click, not only the few new inside the last K clicks.
    - ``history-switches``: as ``history``, plus every click whose category differs from the
      click before it: how users of a group move between the categories they welcome, the
      collaborative signal a user's own discoveries are too few to carry.
    """
    if source not in STEP_SOURCES:
        raise ValueError(f"unknown step source {source!r}; expected one of {STEP_SOURCES}")
    if source == "recent":
        long = list(ctx.long_categories)
        return [(long, p, t) for p, t in steps(ctx.short_seq, (), min_context)]
    switches = source == "history-switches"
    seq = [*ctx.long_categories, *ctx.short_seq]
    seen: list[str] = []  # ordered_set_last(seq[:j]), kept step by step
    out = []
    for j, c in enumerate(seq):
        new = c not in seen or (switches and c != seq[j - 1])
        if new and len(seen) >= min_context:
            out.append((seq[:j], list(seen), c))
        move_to_end(seen, c)
    return out


def sft_examples(
    contexts: Sequence[UserContext],
    builder: PromptBuilder,
    novel_only: bool = True,
    trigger_in_sft: bool = True,
    min_context: int = 2,
    source: str = "recent",
) -> list[dict]:
    """Prompt/completion pairs of eq. 9 (P_ft-nov -> S_short(t)) for every step of
    `discoveries` from `source`.

    `novel_only`: only targets absent from the long-term categories before the step (eq. 8;
    always true of a discovery from the history; ignored for ``history-switches``, whose
    every prompt carries the trigger: it then asks for the user's next category, and
    candidates are novel because generation masks what the user clicked).
    `trigger_in_sft`: a step whose target is new to the long-term history carries the novelty
    trigger, so a from-scratch model learns what the trigger means (docs/pco.md).
    """
    out = []
    every = source == "history-switches"
    for ctx in contexts:
        for long, prefix, target in discoveries(ctx, min_context, source):
            novel = every or target not in set(long)
            if novel_only and not novel:
                continue
            prompt = builder.novelty(ctx.profile, ctx.group, prefix, trigger_in_sft and novel, long)
            out.append({"prompt": prompt, "completion": completion(target)})
    return out


@dataclass
class NegativeSampler:
    """c_neg: an exposed-but-unclicked category of the user; if the user has none, a
    popularity-weighted sample of categories the user never clicked."""

    popularity: Mapping[str, float]  # category -> weight (click counts + 1)

    @classmethod
    def from_contexts(cls, contexts: Sequence[UserContext], categories: Sequence[str]):
        counts = Counter(c for ctx in contexts for c in [*ctx.long_categories, *ctx.short_seq])
        return cls({c: counts.get(c, 0) + 1.0 for c in categories})

    def sample(
        self, ctx: UserContext, exclude: set[str], rng: random.Random
    ) -> tuple[str, bool] | None:
        """(negative, from_exposures) or None when every category is excluded."""
        pool = [c for c in ctx.negatives if c not in exclude and c in self.popularity]
        if pool:
            return rng.choice(pool), True
        cands = [c for c in self.popularity if c not in exclude]
        if not cands:
            return None
        return rng.choices(cands, weights=[self.popularity[c] for c in cands])[0], False


def reward_pairs(
    contexts: Sequence[UserContext],
    builder: PromptBuilder,
    sampler: NegativeSampler,
    rng: random.Random,
    min_context: int = 2,
    source: str = "recent",
) -> list[dict]:
    """(P_ft-rel, c_pos, c_neg) of eq. 11-12, one per step of `discoveries` from `source`;
    c_neg never a clicked category."""
    out = []
    for ctx in contexts:
        history = ctx.history
        for long, prefix, pos in discoveries(ctx, min_context, source):
            neg = sampler.sample(ctx, history | {pos}, rng)
            if neg is None:
                continue
            out.append(
                {
                    "prompt": builder.relevance(ctx.profile, ctx.group, prefix, long),
                    "chosen": completion(pos),
                    "rejected": completion(neg[0]),
                    "exposed": neg[1],
                }
            )
    return out


def eval_target(ctx: UserContext, min_context: int = 2) -> tuple[UserContext, str] | None:
    """The user's LAST novel step as a held-out target: (context before it, category)."""
    found = steps(ctx.short_seq, ctx.long_categories, min_context)
    if not found:
        return None
    target = found[-1][1]
    first = list(ctx.short_seq).index(target)  # a step is the first click on its category
    return replace(ctx, short_seq=list(ctx.short_seq[:first])), target


def split_users(
    contexts: Sequence[UserContext], holdout: float, seed: int = 0
) -> tuple[list[UserContext], list[UserContext]]:
    """(train, held-out) by a stable hash of the user id."""

    def bucket(uid: str) -> float:
        h = hashlib.sha1(f"{seed}:{uid}".encode()).hexdigest()
        return int(h[:8], 16) / 0xFFFFFFFF

    train = [c for c in contexts if bucket(c.user_id) >= holdout]
    held = [c for c in contexts if bucket(c.user_id) < holdout]
    return train, held


def sample_contexts(
    contexts: Sequence[UserContext], fraction: float, min_samples: int, rng: random.Random
) -> list[UserContext]:
    """Eq. 15: a uniform sample of N = max(min_samples, floor(fraction * |D_k|)), at most |D_k|."""
    n = min(len(contexts), max(min_samples, int(fraction * len(contexts))))
    return rng.sample(list(contexts), n)


def truncate_log(log, until_ts: int):
    """The log restricted to ratings at or before `until_ts` (ms)."""
    from coea.data.movielens import RatingLog

    kept = [r for r in log.ratings if r.ts <= until_ts]
    return RatingLog(log.name, kept, log.items, log.users, list(log.problems))


def contexts_from_log(
    log,
    dsie=None,
    *,
    mode: str = "genre-combo",
    short_k: int = 10,
    click_threshold: float = 4.0,
    tau: int = 5,
    until_ts: int | None = None,
    dsie_short_k: int | None = None,
    windows: Sequence[int] | None = None,
    long_cap: int = 200,
    members: Mapping[str, Sequence[str]] | None = None,
) -> list[UserContext]:
    """One `UserContext` per user of a MovieLens `RatingLog` (coea.data.sequences rules).

    Args:
        log: a `coea.data.movielens.RatingLog`.
        dsie: a fitted `models.dsie.DSIE`; gives group and profile. None: group -1, no profile.
        mode: category mode ("genre-combo": 216 categories on ML-100K, or "genre": 19).
        short_k: K, the clicks in C_short; earlier clicks are long-term.
        click_threshold: a rating at or above it is a click, below it an exposure.
        tau: DSIE's I'_long filter (only what DSIE sees; `long_categories` is unfiltered).
        until_ts: only ratings at or before this time (ms): the data D_k of a window.
        dsie_short_k: K of the sequences DSIE assigns groups from (default: `short_k`); PCO
            may use a longer window for its steps than DSIE uses to split long from short.
        windows: end times (inclusive, increasing) of the stream's training windows. When
            given, the contexts are what the running learner holds after those windows:
            `negatives` follow the learner's per-window rule (`window_negatives`) and
            `long_categories` are the categories of the filtered I'_long (tau), its last
            `long_cap` items, as the stream state keeps it.
        members: item -> every category it counts for in `clicked_categories` (default:
            `log.members(mode)`, all of a movie's genres in genre mode, as the replayed
            events carry them in `categories`); `{}`: each item's c(item) only.

    Without `windows`: `negatives` are the categories of the user's exposures since the start
    of the short window (all exposures if none), minus every category the user clicked, and
    `long_categories` are those of every long-term click (unfiltered).
    """
    from coea.data.sequences import ml_user_sequences

    if until_ts is not None:
        log = truncate_log(log, until_ts)
    histories = ml_user_sequences(log, tau, click_threshold, short_k, mode)
    if dsie is not None and dsie_short_k not in (None, short_k):
        groups = _groups(ml_user_sequences(log, tau, click_threshold, dsie_short_k, mode), dsie)
    else:
        groups = _groups(histories, dsie)
    cats, by_user = log.categories(mode), log.by_user()
    members = log.members(mode) if members is None else members
    out = []
    for h in histories:
        ratings = by_user.get(h.user_id, [])
        if windows is None:
            negatives, long_cats = _offline_feedback(h, ratings, cats, click_threshold, short_k)
        else:  # what the learner's D_k holds for the user after `windows`
            negatives = window_negatives(ratings, cats, click_threshold, windows)
            long_cats = [cats.get(i, "unknown") for i in h.long_items[-long_cap:]]
        group, profile = groups.get(h.user_id, (-1, ""))
        out.append(
            UserContext(
                user_id=h.user_id,
                group=group,
                profile=profile,
                short_seq=list(h.short_categories),
                negatives=negatives,
                long_categories=long_cats,
                clicked_categories=_clicked(ratings, cats, members, click_threshold),
            )
        )
    return out


def window_negatives(
    ratings, cats: dict[str, str], click_threshold: float, windows: Sequence[int], cap: int = 50
) -> list[str]:
    """A user's negatives as the learner accumulates them (learners.dataset.WindowStore).

    Per training window (ratings up to each end time in `windows`, the rest in a last one):
    the categories exposed in the window, latest exposure last, merged by
    `coea.state.merge_window_negatives` with the categories clicked in the window.
    """
    ends = list(windows)
    negatives: list[str] = []
    exposed: list[str] = []  # the window's exposures in time order
    clicked: set[str] = set()
    j = 0
    for r in [*ratings, None]:
        if r is None or (j < len(ends) and r.ts > ends[j]):
            negatives = merge_window_negatives(negatives, exposed, clicked, cap)
            exposed, clicked = [], set()
            while r is not None and j < len(ends) and r.ts > ends[j]:
                j += 1
            if r is None:
                break
        c = cats.get(r.item_id, "unknown")
        if r.is_click(click_threshold):
            clicked.add(c)
        else:
            exposed.append(c)
    return negatives


def _offline_feedback(
    h, ratings, cats, click_threshold: float, short_k: int
) -> tuple[list[str], list[str]]:
    """(negatives, long-term categories) of a user's time-ordered ratings without windows (see
    `contexts_from_log`).

    Its negatives are not the stream's rule (`coea.state`: latest exposure last, a click drops
    the category, capped) but the offline one of a rating log read whole: the exposures since
    the short window began, in order of first exposure, less every category ever clicked.
    `window_negatives` follows the stream and the learner instead.
    """
    clicks = [r for r in ratings if r.is_click(click_threshold)]
    long_clicks, short_clicks = split_short(clicks, short_k)
    long_cats = [cats.get(r.item_id, "unknown") for r in long_clicks]
    start = short_clicks[0].ts if short_clicks else 0
    exposed = [r for r in ratings if not r.is_click(click_threshold)]
    recent = [r for r in exposed if r.ts >= start] or exposed
    clicked = set(long_cats) | set(h.short_categories)
    negatives = dict.fromkeys(cats.get(r.item_id, "unknown") for r in recent)
    return [c for c in negatives if c not in clicked], long_cats


def _clicked(ratings, cats, members, click_threshold: float) -> list[str]:
    """Every category of the user's clicks (c(item) and the item's other `members`), in order
    of first click: the same set as the stream state's per-category click counters
    (`coea.state.UserState.category_clicks`, whose order is click recency); both serve as a
    set, the categories a user is never offered."""
    clicked = (
        c
        for r in ratings
        if r.is_click(click_threshold)
        for c in (cats.get(r.item_id, "unknown"), *members.get(r.item_id, ()))
    )
    return list(dict.fromkeys(clicked))


def _groups(histories, dsie) -> dict[str, tuple[int, str]]:
    if dsie is None:
        return {}
    from models.dsie import UserSequence

    users = [UserSequence.of(h) for h in histories]
    out = {}
    for a in dsie.assign(users):
        profile = dsie.profiles.get(a.group)
        out[a.user_id] = (a.group, profile.text if profile is not None else "")
    return out
