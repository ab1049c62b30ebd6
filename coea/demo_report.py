"""What `coea demo` measures about the served categories, and its plot.

Is what is served personal, and does it find the synthetic world's hidden categories better
than a plain baseline on the same users?

- distinct categories in the served top-5 lists, and the share of users whose top-5 (as a set)
  is the most common one;
- hidden-hit rate at 5: the share of users with one of their first five served categories in
  their hidden accept-set (`SyntheticWorld.hidden_categories`);
- the baseline `unseen-popular`: the categories a user never clicked in the replayed events,
  ranked by global click count over those events (ties by name);
- the same per learner cycle, from the answers served with that cycle's table version, and
  the baseline from the clicks up to that cycle's data.

Everything but `plot` is pure (no broker, no files).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from coea.schemas import ClickEvent

TOP = 5


@dataclass
class ClickLog:
    """The clicks of an event stream: (ts, user, category), in stream order."""

    clicks: list[tuple[int, str, str]] = field(default_factory=list)
    events: int = 0  # events of the whole stream read by `of`, clicks or not

    @classmethod
    def of(cls, events: Iterable) -> ClickLog:
        log = cls()
        for e in events:
            log.events += 1
            if isinstance(e, ClickEvent) and e.category:
                log.clicks.append((e.ts, e.user_id, e.category))
        return log

    def until(self, ts_end: int | None) -> ClickLog:
        """The clicks before `ts_end` (all of them when None)."""
        if ts_end is None:
            return self
        return ClickLog([c for c in self.clicks if c[0] < ts_end], self.events)

    def counts(self) -> Counter:
        """category -> clicks."""
        return Counter(c for _, _, c in self.clicks)

    def clicked(self) -> dict[str, set[str]]:
        """user -> categories the user clicked."""
        out: dict[str, set[str]] = {}
        for _, u, c in self.clicks:
            out.setdefault(u, set()).add(c)
        return out


def popularity_order(counts: Mapping[str, int], catalogue: Iterable[str] = ()) -> list[str]:
    """Categories by clicks, most first, ties by name; catalogue categories never clicked last."""
    cats = set(counts) | set(catalogue)
    return sorted(cats, key=lambda c: (-counts.get(c, 0), c))


def unseen_popular(order: Sequence[str], clicked: Iterable[str], n: int = TOP) -> list[str]:
    """The first `n` categories of `order` the user never clicked."""
    seen = set(clicked)
    out = []
    for c in order:
        if c not in seen:
            out.append(c)
            if len(out) == n:
                break
    return out


def unseen_popular_lists(
    log: ClickLog, users: Iterable[str], catalogue: Iterable[str] = (), n: int = TOP
) -> dict[str, list[str]]:
    """user -> the user's unseen-popular list, from the clicks in `log`."""
    order = popularity_order(log.counts(), catalogue)
    clicked = log.clicked()
    return {u: unseen_popular(order, clicked.get(u, ()), n) for u in users}


def hit_rate(
    lists: Mapping[str, Sequence[str]], hidden: Mapping[str, Iterable[str]], k: int = TOP
) -> float | None:
    """Share of the users in `lists` with one of their first `k` categories in their hidden
    set (None for no users)."""
    if not lists:
        return None
    hits = sum(bool(set(cats[:k]) & set(hidden.get(u, ()))) for u, cats in lists.items())
    return hits / len(lists)


def distinct(lists: Mapping[str, Sequence[str]], k: int = TOP) -> int:
    """Distinct categories over everyone's first `k`."""
    return len({c for cats in lists.values() for c in cats[:k]})


def same_list(lists: Mapping[str, Sequence[str]], k: int = TOP) -> tuple[float | None, list]:
    """(share of users whose first `k`, as a set, is the most common one; that set, sorted).
    Users with an empty list are left out; (None, []) when none is left."""
    sets = [tuple(sorted(set(cats[:k]))) for cats in lists.values() if cats]
    if not sets:
        return None, []
    top, n = Counter(sets).most_common(1)[0]
    return n / len(sets), list(top)


def serve_counts(lists: Mapping[str, Sequence[str]], k: int = TOP) -> Counter:
    """category -> users with it in their first `k`."""
    return Counter(c for cats in lists.values() for c in dict.fromkeys(cats[:k]))


def list_summary(lists: Mapping[str, Sequence[str]], hidden: Mapping[str, Iterable[str]]) -> dict:
    share, top = same_list(lists)
    return {
        "users": len(lists),
        "hidden_hit_at_5": hit_rate(lists, hidden),
        "distinct_categories": distinct(lists),
        "same_top5_share": share,
        "most_common_top5": top,
    }


def plot(
    path: str | Path,
    counts: Mapping[str, int],
    catalogue: Iterable[str],
    served: Mapping[str, Sequence[str]],
    baseline: Mapping[str, Sequence[str]],
    hidden: Mapping[str, Iterable[str]],
    per_cycle: Sequence[dict],
    baseline_all: float | None,
) -> Path:
    """Left: the catalogue's categories ranked by clicks (log), the served ones marked with
    how many users got them; right: hidden-hit rate at 5 per cycle, system vs unseen-popular."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    order = popularity_order(counts, catalogue)
    rank = {c: n + 1 for n, c in enumerate(order)}
    clicks = [counts.get(c, 0) for c in order]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    a.plot(range(1, len(order) + 1), clicks, color="0.6", lw=1.5, label="catalogue (by clicks)")
    truth = sorted({c for u in served for c in hidden.get(u, ()) if c in rank})
    if truth:
        a.scatter(
            [rank[c] for c in truth],
            [counts.get(c, 0) for c in truth],
            marker="|",
            s=40,
            alpha=0.5,
            color="tab:green",
            label="hidden accept-set categories",
        )
    base = serve_counts(baseline)
    if base:
        a.scatter(
            [rank[c] for c in base],
            [counts.get(c, 0) for c in base],
            s=[12 + 200 * n / len(baseline) for n in base.values()],
            marker="^",
            facecolors="none",
            edgecolors="tab:orange",
            label="unseen-popular top-5",
        )
    sys_counts = serve_counts(served)
    cats = [c for c in sys_counts if c in rank]
    if cats:
        a.scatter(
            [rank[c] for c in cats],
            [counts.get(c, 0) for c in cats],
            s=[12 + 200 * sys_counts[c] / len(served) for c in cats],
            color="tab:blue",
            alpha=0.6,
            label="served top-5 (size: users)",
        )
        most = ", ".join(f"{c} x{n}" for c, n in sys_counts.most_common(6))
        a.text(
            0.02,
            0.02,
            f"most served (of {len(served)} users):\n{most}",
            fontsize=7,
            transform=a.transAxes,
            va="bottom",
        )
    a.set_xscale("log")
    a.set_yscale("symlog", linthresh=1)
    a.set_ylim(0, 3 * max(clicks, default=1))
    a.set(
        title="popularity of the served categories",
        xlabel="category rank by clicks in the replayed events (log)",
        ylabel="clicks (log)",
    )
    a.legend(fontsize=7, loc="upper right")
    ks = [r["cycle"] for r in per_cycle]
    keys = ("hidden_hit_at_5", "unseen_popular_hidden_hit_at_5")
    b.plot(ks, [r["hidden_hit_at_5"] or 0 for r in per_cycle], marker="o", label="system")
    if any(r.get("unseen_popular_hidden_hit_at_5") is not None for r in per_cycle):
        b.plot(
            ks,
            [r.get("unseen_popular_hidden_hit_at_5") or 0 for r in per_cycle],
            marker="^",
            color="tab:orange",
            label="unseen-popular (events up to the cycle)",
        )
    if baseline_all is not None:
        b.axhline(
            baseline_all, color="tab:orange", ls="--", lw=1, label="unseen-popular (all events)"
        )
    rates = [r.get(k) or 0 for r in per_cycle for k in keys] + [baseline_all or 0]
    b.set(title="hidden-hit rate at 5, same users", xlabel="cycle")
    b.set_ylim(0, min(1.0, max(0.1, 1.2 * max(rates))))
    b.yaxis.set_major_formatter(PercentFormatter(1.0))
    b.set_xticks(ks)
    b.legend(fontsize=7)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
