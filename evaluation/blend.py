"""How an exploration path joins the main ranking: ONE rule for every exploration method.

The paper deploys CoEA's aligned novel categories as "an additional retrieval path" next to
the main recommender (sec. 5.4) but does not say how the two lists become one top K. We fix
the rule once and apply it identically to HUCB, EXPLORE, Google-v1, CoEA and its ablations:

- the base (exploitation) ranking keeps slot 1 and every slot not reserved below;
- the exploration path fills the reserved slots `explore_slots` (1-based; default 2, 4, 6,
  8, 10: interleaved, a fixed quota of floor(K/2) of the top K for K <= 10);
- a category already placed is skipped (by either list); when the exploration path runs
  out, the base ranking fills its slots, and vice versa.

Fixed slots make the blend prefix-consistent: the top 5 of a blended top-10 list is the
blended top 5, so every @K metric reads the same list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class BlendConfig:
    """Which 1-based positions of the final list the exploration path fills."""

    explore_slots: tuple[int, ...] = (2, 4, 6, 8, 10)  # quota: floor(K/2) of the top K <= 10

    def __post_init__(self) -> None:
        if any(s < 1 for s in self.explore_slots):
            raise ValueError("explore_slots are 1-based positions (>= 1)")


class _Cursor:
    """Walks a ranked list, skipping categories already placed."""

    def __init__(self, ranked: Sequence[str]) -> None:
        self.ranked, self.pos = ranked, 0

    def take(self, placed: set[str]) -> str | None:
        while self.pos < len(self.ranked) and self.ranked[self.pos] in placed:
            self.pos += 1
        if self.pos >= len(self.ranked):
            return None
        self.pos += 1
        return self.ranked[self.pos - 1]


def blend(
    base: Sequence[str], explore: Sequence[str], k: int, config: BlendConfig = BlendConfig()
) -> list[str]:
    """Merge a base ranking and an exploration path into one list of at most k categories.

    Args:
        base: the exploitation ranking (best first).
        explore: the exploration path's categories (best first).
        k: length of the final list.
        config: the reserved exploration slots.

    Returns:
        Distinct categories, best first.
    """
    slots = set(config.explore_slots)
    cursors = (_Cursor(base), _Cursor(explore))
    out: list[str] = []
    placed: set[str] = set()
    while len(out) < k:
        first = 1 if (len(out) + 1) in slots else 0
        cat = cursors[first].take(placed)
        if cat is None:  # this source ran out: the other one fills the slot
            cat = cursors[1 - first].take(placed)
        if cat is None:
            break
        out.append(cat)
        placed.add(cat)
    return out
