"""One learner cycle on D_k: DSIE refresh, PCO (bootstrap or closed-loop cycle), the table.

No Kafka here: the worker (learners/worker.py) feeds a `WindowStore` and publishes what
`CycleEngine.run` returns. Cycle 1 fits DSIE and bootstraps PCO (SFT + reward model, the
paper's cycle 0); cycle k >= 2 re-assigns CSIDs (re-fits DSIE every `dsie_refit_every`
cycles when > 0) and runs PCO cycle k-1 (DPO + KL, reward update). Every cycle then
generates, scores and filters candidates for every active (group, C'_short) key.
Seeds are derived from (seed, cycle), so a cycle re-run after a crash gives the same result.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from coea.table import TableRow, key_short_set
from learners.dataset import UserRecord, WindowStore
from learners.pco import artifacts as pco_artifacts
from learners.pco.config import PCOConfig
from learners.pco.cycle import align, generate, run_cycle, score
from learners.pco.data import UserContext
from learners.pco.state import PCOModels, bootstrap, load_models
from models.dsie import DSIE, DSIEConfig, GroupAssignment, UserSequence


@dataclass
class EngineConfig:
    dsie: DSIEConfig = field(default_factory=DSIEConfig)
    pco: PCOConfig = field(default_factory=PCOConfig)
    dsie_refit_every: int = 0  # 0: fit once (cycle 1), then re-assign only
    max_keys: int = 20_000  # (group, C'_short) keys scored per cycle (`choose_keys`)
    min_warm_users: int = 20  # a first cycle waits until this many users have I'_long
    group_default_size: int = 20  # categories in a group's fallback row (> K = 10)
    seed: int = 0


def engine_config(
    profile: str, seed: int, checkpoint: str | None = None, device: str = "cpu"
) -> EngineConfig:
    """Model sizes for a settings profile ('default': paper settings, 'small': fast), both
    LLMs from `checkpoint` when given, trainers on `device`."""
    if profile == "small":
        dsie, pco = DSIEConfig.tiny(seed=seed, n_groups=20), PCOConfig.tiny(seed=seed)
    else:
        dsie, pco = DSIEConfig(seed=seed), PCOConfig(seed=seed)
    pco = pco.with_checkpoint(checkpoint).on_device(device)
    return EngineConfig(dsie=dsie, pco=pco, seed=seed)


class NotEnoughData(RuntimeError):
    """D_k cannot support a first cycle yet (too few users with long-term history)."""


@dataclass
class CycleOutput:
    assignments: list[GroupAssignment]
    rows: list[TableRow]
    metrics: dict
    dsie_version: str
    default_group: int


class CycleEngine:
    """Holds the fitted DSIE and PCO models between cycles (and reloads them after a restart)."""

    def __init__(self, root: str | Path, config: EngineConfig):
        self.root, self.config = Path(root), config
        self.pco_root = self.root / "pco"
        self.dsie: DSIE | None = None
        self.models: PCOModels | None = None
        self._dsie_dir: Path | None = None

    # ---- state -------------------------------------------------------------------------
    def dsie_dir(self, cycle: int) -> Path:
        return self.root / "dsie" / f"cycle-{cycle:04d}"

    def restore(self, cycle: int, dsie_dir: Path) -> None:
        """Reload the models of a complete learner cycle (after a restart)."""
        self.dsie, self._dsie_dir = DSIE.load(dsie_dir), Path(dsie_dir)
        pco_artifacts.rollback(self.pco_root, cycle - 1)
        self.models = load_models(self.pco_root, cycle - 1, self.config.pco)

    def reset(self) -> None:
        """Forget everything on disk (a restart with no complete cycle)."""
        import shutil

        shutil.rmtree(self.pco_root, ignore_errors=True)
        self.dsie, self.models = None, None

    def assign(self, users: Sequence[UserRecord]) -> list[GroupAssignment]:
        """CSIDs for users (incremental assignment to the nearest group between refits)."""
        if self.dsie is None or not users:
            return []
        return self.dsie.assign([UserSequence.of(u) for u in users])

    # ---- one cycle ---------------------------------------------------------------------
    def run(
        self, store: WindowStore, cycle: int, categories: Sequence[str]
    ) -> tuple[CycleOutput, Path]:
        """Cycle `cycle` (>= 1) on `store`; returns its output and the DSIE folder it used."""
        cfg, t0 = self.config, time.perf_counter()
        torch.manual_seed(cfg.seed * 1_000_003 + cycle)
        users = [u for _, u in sorted(store.users.items())]
        refit = self.dsie is None or (
            cfg.dsie_refit_every and (cycle - 1) % cfg.dsie_refit_every == 0
        )
        item_cats = {
            i: c for u in users for i, c in zip(u.long_items, u.long_categories, strict=False)
        }
        dsie_dir = self.dsie_dir(cycle)
        if refit:
            warm = sum(len(u.long_items) >= cfg.dsie.min_long_items for u in users)
            if warm < cfg.min_warm_users:
                raise NotEnoughData(
                    f"{warm} users have >= {cfg.dsie.min_long_items} long-term items; "
                    f"DSIE needs {cfg.min_warm_users}"
                )
            self.dsie = DSIE.fit(
                [UserSequence.of(u) for u in users], item_cats, cfg.dsie, progress=False
            )
            self.dsie.save(dsie_dir)
            self._dsie_dir = dsie_dir
        dsie_dir = self._dsie_dir
        assignments = self.assign(users)
        # The tokenizer's vocabulary is fixed when PCO bootstraps; later categories are unknown.
        vocab = self.models.categories if self.models is not None else categories
        contexts = self._contexts(users, assignments, vocab)
        metrics: dict = {"users": len(users), "dsie_refit": bool(refit)}
        rng = random.Random(cfg.seed * 1_000_003 + cycle)
        window = {"records": store.records, "windows": sorted(store.window_ids)[-1:]}
        if self.models is None:
            profiles = {g: p.text for g, p in self.dsie.profiles.items()}
            self.models, metrics["pco"] = bootstrap(
                contexts, categories, profiles, cfg.pco, self.pco_root, window
            )
        else:
            self.models, metrics["pco"] = run_cycle(
                self.models, contexts, cycle - 1, self.pco_root, rng, window
            )
        rows, table_metrics = self.table(contexts)
        metrics |= table_metrics | {"cycle_seconds": round(time.perf_counter() - t0, 2)}
        out = CycleOutput(assignments, rows, metrics, self.dsie.version, self.dsie.default_group)
        return out, dsie_dir

    def _contexts(
        self, users: Sequence[UserRecord], assignments: Sequence[GroupAssignment], categories
    ) -> list[UserContext]:
        known = set(categories)
        out = []
        for u, a in zip(users, assignments, strict=True):
            profile = self.dsie.profiles.get(a.group)
            out.append(
                UserContext(
                    user_id=u.user_id,
                    group=a.group,
                    profile=profile.text if profile else "",
                    short_seq=[c for c in u.short_categories if c in known],
                    negatives=[c for c in u.negatives if c in known],
                    long_categories=[c for c in u.long_categories if c in known],
                    clicked_categories=list(u.clicked_categories),
                    key_short=key_short_set(u.short_categories),
                )
            )
        return out

    def table(self, contexts: Sequence[UserContext]) -> tuple[list[TableRow], dict]:
        """Rows for every distinct (group, C'_short) key, plus one fallback row per group."""
        cfg = self.config
        return novel_table(
            self.models, contexts, self.dsie.default_group, cfg.max_keys, cfg.group_default_size
        )


def novel_table(
    models: PCOModels,
    contexts: Sequence[UserContext],
    default_group: int,
    max_keys: int = 20_000,
    group_default_size: int = 20,
) -> tuple[list[TableRow], dict]:
    """The novel-category table of one cycle (pure over the models; no Kafka).

    One row per distinct (group, C'_short) key among `contexts` (at most `max_keys`, chosen by
    `choose_keys`), generated, scored and filtered from the first context with that key, plus
    each group's fallback row on the key of the empty C'_short (`group_defaults`). When the
    default group has no row of its own, every group's scores are pooled into it so
    cold-start users always find one. Returns (rows, metrics).
    """
    keys: dict[tuple[int, tuple[str, ...]], UserContext] = {}
    users: Counter = Counter()
    for ctx in contexts:
        key = (ctx.group, ctx.table_short)
        keys.setdefault(key, ctx)
        users[key] += 1
    chosen = choose_keys(users, max_keys)
    ctxs = [keys[k] for k in chosen]
    cands = generate(models, ctxs)
    use_rel = models.config.use_relevance
    scores = score(models, ctxs, cands) if use_rel else None
    kept = align(cands, scores, models.config.tau_align)
    rows: list[TableRow] = []
    aligned = defaultdict(lambda: defaultdict(float))
    scored = defaultdict(lambda: defaultdict(float))
    for i, ((group, short), row) in enumerate(zip(chosen, kept, strict=True)):
        cats = tuple(sorted(((c, 1.0 if s is None else s) for c, s in row), key=lambda x: -x[1]))
        for c, s in cats:
            aligned[group][c] += s
        for j, cand in enumerate(cands[i]):
            scored[group][cand.category] += 1.0 if scores is None else float(scores[i][j])
        if cats:
            rows.append(TableRow(group, short, cats))
    n_cands = sum(len(r) for r in cands)
    if default_group not in scored:  # cold-start users must find a row: pool every group's
        for table in (aligned, scored):
            for per in list(table.values()):
                for c, v in per.items():
                    table[default_group][c] += v
    n_keys = Counter(group for group, _ in chosen)
    fallbacks = group_defaults(
        aligned, scored, group_default_size, n_keys, lift=models.config.group_lift
    )
    diagnostics = row_diagnostics(rows, fallbacks, contexts)
    rows += fallbacks
    return rows, {
        "keys": len(chosen),
        "rows": len(rows),
        "aligned_share": sum(len(r) for r in kept) / n_cands if n_cands else 0.0,
        **diagnostics,
    }


def choose_keys(users: Mapping[tuple[int, tuple[str, ...]], int], max_keys: int) -> list:
    """The table keys to score when there are more than `max_keys`: the keys shared by the most
    users first and, among keys with as many users, the groups in turn (each group's keys in
    sorted order), so that every group gets key rows and not only the lowest group ids.
    Returned sorted (the table's row order does not depend on the choice)."""
    if len(users) <= max_keys:
        return sorted(users)
    by_group: dict[int, list] = defaultdict(list)
    for key in sorted(users, key=lambda k: (-users[k], k)):
        by_group[key[0]].append(key)
    turn = {key: i for keys in by_group.values() for i, key in enumerate(keys)}
    order = sorted(users, key=lambda k: (-users[k], turn[k], k))
    return sorted(order[:max_keys])


def row_diagnostics(
    rows: Sequence[TableRow],
    fallbacks: Sequence[TableRow],
    contexts: Sequence[UserContext],
    k: int = 5,
) -> dict:
    """How personal the key rows are: distinct categories and entropy of their first k, the
    mean popularity rank of those (1 = the category most users among `contexts` clicked), and the
    share of key rows whose first k equal their group's fallback row's."""
    import math
    from collections import Counter

    clicks = Counter(c for ctx in contexts for c in ctx.history)
    rank = {c: i + 1 for i, (c, _) in enumerate(clicks.most_common())}
    firsts = [[c for c, _ in r.categories[:k]] for r in rows]
    shown = Counter(c for f in firsts for c in f)
    total = sum(shown.values())
    entropy = -sum(n / total * math.log(n / total) for n in shown.values()) if total else 0.0
    tops = {r.group: {c for c, _ in r.categories[:k]} for r in fallbacks}
    same = sum(set(f) == tops.get(r.group) for f, r in zip(firsts, rows, strict=True))
    ranks = [rank.get(c, len(rank) + 1) for f in firsts for c in f]
    return {
        f"distinct_top{k}": len(shown),
        f"entropy_top{k}": round(entropy, 4),
        f"popularity_rank_top{k}": round(sum(ranks) / len(ranks), 2) if ranks else None,
        "fallback_equal_share": round(same / len(rows), 4) if rows else None,
    }


def group_defaults(
    aligned: dict,
    scored: dict,
    size: int,
    n_keys: Mapping[int, int] | None = None,
    lift: bool = False,
) -> list[TableRow]:
    """Each group's fallback row on the key of the empty C'_short.

    The group's most-accepted categories: ranked by summed aligned scores, then by summed
    scores of all its candidates (so the row is long enough to leave categories outside
    any C'_short); scores normalised to the best.

    With `lift` (and `n_keys`, the keys scored per group), a group with keys of its own ranks
    its accepted categories by how many times more its keys accept them than all keys do:
    log((a_g + e) / (a + e)), a_g the mean aligned score over the group's keys, a the mean
    over every key, e = 1 / (all keys) (one key's acceptance, so a category one key accepted
    once does not lead on noise). Categories many groups accept then stop filling every
    group's row; the group's own ones lead it. A pooled default group (no keys of its own)
    keeps the plain ranking.
    """
    n_keys = n_keys if lift and n_keys else {}
    total = sum(n_keys.values())
    smooth = 1.0 / total if total else 1.0
    overall: dict[str, float] = defaultdict(float)  # summed over the groups with keys
    for group in n_keys:
        for c, v in aligned[group].items():
            overall[c] += v / total
    out = []
    for group in sorted(scored):
        own = n_keys.get(group, 0)

        def order(c: str, group: int = group, own: int = own) -> tuple:
            acc = aligned[group].get(c, 0.0)
            if own and acc:  # accepted by the group's keys: by lift first
                return (0, -math.log((acc / own + smooth) / (overall[c] + smooth)), c)
            return (1, -acc, -scored[group][c], c)

        rank = sorted(scored[group], key=order)[:size]
        value = {c: aligned[group].get(c, 0.0) + scored[group][c] for c in rank}
        if own:  # scores follow the rank: 1 for the first, down to 1/len
            value = {c: (len(rank) - i) / len(rank) for i, c in enumerate(rank)}
        peak = max(value.values(), default=1.0) or 1.0
        out.append(TableRow(group, (), tuple((c, round(value[c] / peak, 6)) for c in rank)))
    return out
