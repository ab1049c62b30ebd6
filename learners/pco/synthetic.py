"""Synthetic user contexts with learnable structure, for tests and benchmarks.

Each group g walks the category ring with its own stride: after categories (a, b) a user of
group g most often clicks ``(b + stride_g) mod C``; exposed-but-unclicked categories lie on
the opposite side of the ring. So SFT can beat a popularity predictor and a reward model can
tell positives from negatives. Category names include spaces and '|' on purpose.
"""

from __future__ import annotations

import random

from learners.pco.data import UserContext


def synthetic_categories(n: int) -> list[str]:
    """n category names; some contain '|', a space or an apostrophe (like MovieLens)."""
    styles = ("Cat{}", "Cat{}|Combo", "Kid's {}", "Sci Fi {}")
    return [styles[i % len(styles)].format(i) for i in range(n)]


def synthetic_contexts(
    n_users: int = 60,
    n_categories: int = 12,
    n_groups: int = 3,
    seq_len: int = 10,
    seed: int = 0,
    noise: float = 0.15,
) -> tuple[list[UserContext], list[str], dict[int, str]]:
    """(contexts, categories, group profiles)."""
    rng = random.Random(seed)
    cats = synthetic_categories(n_categories)
    strides = {g: 1 + g for g in range(n_groups)}
    profiles = {
        g: f"Group {g}: walks the catalogue in steps of {strides[g]}" for g in range(n_groups)
    }
    out = []
    for u in range(n_users):
        g = u % n_groups
        pos = rng.randrange(n_categories)
        seq = []
        for _ in range(seq_len):
            seq.append(cats[pos])
            step = strides[g] if rng.random() > noise else rng.randrange(1, n_categories)
            pos = (pos + step) % n_categories
        opposite = [cats[(pos + n_categories // 2 + d) % n_categories] for d in range(2)]
        negatives = [c for c in opposite if c not in seq]
        long = [cats[(pos + 3 * strides[g]) % n_categories]] if u % 2 else []
        out.append(UserContext(f"u{u}", g, profiles[g], seq, negatives, long))
    return out, cats, profiles
