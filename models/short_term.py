"""Short-term mapping (paper sec. 4.2.4) and the cold-start rule.

``C_short`` is the category list of the last K clicked items, in time order. ``C'_short`` is its
ordered set (`coea.state.ordered_set_last`, the one implementation the stream, the learner and
serving share): duplicates are dropped keeping each category's LAST occurrence, so the list
stays chronological and its last elements are the most recent categories (appendix A.2 takes
"the last two categories" of C'_short).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

UNKNOWN_CATEGORY = "unknown"


def categories_of(
    items: Sequence[str], item_categories: Mapping[str, str], unknown: str = UNKNOWN_CATEGORY
) -> list[str]:
    """c(.) applied to each item; items missing from the mapping get `unknown`."""
    return [item_categories.get(i, unknown) for i in items]


def short_categories(
    short_items: Sequence[str], item_categories: Mapping[str, str], k: int = 10
) -> list[str]:
    """C_short: categories of the last k items (oldest first)."""
    return categories_of(list(short_items)[-k:] if k > 0 else [], item_categories)


def is_cold_start(long_items: Sequence[str], min_long_items: int = 3) -> bool:
    """Too little long-term history for a reliable u_long: use the default group."""
    return len(long_items) < min_long_items
