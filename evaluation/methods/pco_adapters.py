"""Google-v1, CoEA and CoEA's ablations as thin adapters over learners/pco and models/dsie.

Nothing here trains a model itself: DSIE (`models.dsie.DSIE.fit`), the contexts
(`learners.pco.data.contexts_from_log`), cycle 0 (`learners.pco.state.bootstrap`), the PCO
cycles (`learners.pco.cycle.run_cycle`) and C_n / s_i / C_align (`generate`, `score`, `align`)
are the project's own code. The adapter only decides what data each step sees:

- the train split becomes a RatingLog of train ratings only (no held-out rating ever reaches
  a model);
- incremental data: the train period is cut at time quantiles t_0 < t_1 < ... < t_R = end;
  cycle 0 (SFT + reward model) sees ratings up to t_0 (the median train timestamp) and PCO
  cycle k the ratings up to t_k; the cut-offs are the stream's training windows, so a
  user's exposed-but-unclicked negatives follow the learner's per-window rule
  (`learners.pco.data.window_negatives`). Google-v1 is aligned once (one cycle on the t_0 data) and
  never updated; CoEA and its ablations run every cycle;
- DSIE groups (CoEA, w/o Short, w/o R-LLM, w/o KL) are fitted once, on the data of cycle 0
  (ratings up to t_0), and later users and cut-offs are assigned to the nearest group, as
  the learner does with its default (no refit); Google-v1 and w/o Long use no groups and no
  profiles (short-term interests only);
- the exploration path of a user, for the variants with groups (CoEA, w/o Short, w/o R-LLM,
  w/o KL), is what the deployed system would serve (`serving="table"`, the default): the
  learner's table (`learners.engine.novel_table`: one row per (group, C'_short) key among the
  users' contexts at the end of the train history, plus each group's fallback row) looked
  up by the serving rule (`coea.table.TableView.serve`: key row, else group row, else the
  default group's). `serving="user"` (and always for Google-v1 and w/o Long, which have no
  groups) = the user's own C_align, ordered by the Relevance LLM score s_i (w/o R-LLM: C_n
  in Novelty LLM order). Either way the path is blended into the shared base ranking like
  every exploration method's.
"""

from __future__ import annotations

import importlib.util
import random
import tempfile
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from evaluation.methods.base import EXPLORATION, OURS
from evaluation.methods.explorer import BaseProvider, ExplorationMethod
from evaluation.protocol import TrainSplit


def pco_unavailable_reason() -> str | None:
    """None when the PCO learner and DSIE can be imported, else why not."""
    for module in ("learners.pco.cycle", "learners.pco.state", "learners.pco.data", "models.dsie"):
        try:
            if importlib.util.find_spec(module) is None:
                return f"{module} cannot be found (Google-v1 and CoEA need it)"
        except ModuleNotFoundError as exc:
            return f"{module} cannot be imported: {exc}"
    return None


@dataclass(frozen=True)
class PCOPlan:
    """What distinguishes Google-v1, CoEA and each ablation."""

    ablation: str  # learners.pco.config.ABLATIONS
    groups: bool  # fit DSIE and give contexts a group and profile
    periodic: bool  # run every PCO cycle on incremental data (False: aligned once)
    # a click counts for every category of its item in the clicked categories the path
    # excludes (the protocol's category sets, `CategoryMap.members`); False: c(item) only
    all_categories: bool = True


PLANS = {
    "google-v1": PCOPlan("no-long", groups=False, periodic=False),
    "coea": PCOPlan("none", groups=True, periodic=True),
    "coea-no-long": PCOPlan("no-long", groups=False, periodic=True),
    "coea-no-short": PCOPlan("no-short", groups=True, periodic=True),
    "coea-no-rllm": PCOPlan("no-rllm", groups=True, periodic=True),
    "coea-no-kl": PCOPlan("no-kl", groups=True, periodic=True),
    "coea-no-own-history": PCOPlan("no-own-history", groups=True, periodic=True),
    "coea-no-history-mask": PCOPlan("no-history-mask", groups=True, periodic=True),
    "coea-no-debias": PCOPlan("no-debias", groups=True, periodic=True),
    "coea-no-history-steps": PCOPlan("no-history-steps", groups=True, periodic=True),
    "coea-no-group-lift": PCOPlan("no-group-lift", groups=True, periodic=True),
    "coea-no-fill": PCOPlan("no-fill", groups=True, periodic=True),
    "coea-first-category": PCOPlan("none", groups=True, periodic=True, all_categories=False),
}
#: PCOConfig fields an override may set directly (sweeps and experiments).
CONFIG_OVERRIDES = {
    "n_long_categories": int,
    "debias": float,
    "exclude_history": bool,
    "step_source": str,
}
DEFAULT_ROUNDS = 4  # PCO cycles after cycle 0 (the paper runs up to 60 on ML-1M)


class PCOCache:
    """What PCO variants of one seed have in common, computed once: the DSIE fit, the
    contexts at each cut-off, and cycle 0 (identical for CoEA, w/o KL and w/o R-LLM, and for
    Google-v1 and w/o Long: the ablations differ only from cycle 1 on)."""

    def __init__(self) -> None:
        self._store: dict[Hashable, object] = {}

    def get(self, key: Hashable, make: Callable[[], object]) -> object:
        if key not in self._store:
            self._store[key] = make()
        return self._store[key]


def train_log(train: TrainSplit):
    """The train split as a `RatingLog` (train ratings only, time-ordered)."""
    from coea.data.movielens import RatingLog

    ratings = sorted(
        (r for seq in train.sequences.values() for r in seq),
        key=lambda r: (r.ts, r.user_id, r.item_id),
    )
    return RatingLog("train-split", ratings, dict(train.items), dict(train.users))


def cutoffs(log, rounds: int) -> list[int]:
    """t_0 (median train timestamp) ... t_rounds (the last one), evenly spaced in quantile."""
    ts = np.array([r.ts for r in log.ratings])
    qs = [0.5 + 0.5 * k / max(rounds, 1) for k in range(rounds + 1)]
    return [int(np.quantile(ts, q, method="higher")) for q in qs]


class PCOMethod(ExplorationMethod):
    """One of Google-v1 / CoEA / an ablation, through the PCO learner's public API."""

    def __init__(self, name: str, provider: BaseProvider, settings, cache: PCOCache) -> None:
        super().__init__(provider, settings.blend)
        self.cache = cache
        self.name, self.plan = name, PLANS[name]
        self.kind = EXPLORATION if name == "google-v1" else OURS
        self.overrides = dict(settings.pco_overrides)
        self.rounds = int(self.overrides.get("rounds", settings.pco_rounds or DEFAULT_ROUNDS))
        self.fast = bool(self.overrides.get("fast", False))
        self.serving = str(self.overrides.get("serving", "table"))
        if self.serving not in ("table", "user"):
            raise ValueError(f"serving must be 'table' or 'user', not {self.serving!r}")
        self.served_by_rule: dict[str, int] = {}
        self.table_metrics: dict = {}  # the served table's diagnostics (learners.engine)
        self.curve: dict[str, list[float]] = {}
        self.round_hook = None  # callable(method) -> metrics after each round (Figure 4)

    # ---- configuration ------------------------------------------------------------------
    def _pco_config(self, seed: int):
        from learners.pco.config import PCOConfig

        base = PCOConfig.tiny() if self.fast else PCOConfig()
        cfg = replace(base, seed=seed).with_ablation(self.plan.ablation)
        if "alpha" in self.overrides:
            cfg = replace(cfg, dpo=replace(cfg.dpo, alpha=float(self.overrides["alpha"])))
        over = self.overrides
        given = {k: t(over[k]) for k, t in CONFIG_OVERRIDES.items() if k in over}
        for name in ("sft", "reward"):  # experiments: "sft_epochs", "reward_epochs"
            if f"{name}_epochs" in over:
                given[name] = replace(getattr(cfg, name), epochs=float(over[f"{name}_epochs"]))
        return replace(cfg, **given) if given else cfg

    def _dsie(self, log, seed: int):
        from coea.data.sequences import ml_user_sequences
        from models.dsie import DSIE, DSIEConfig, UserSequence

        cfg = DSIEConfig.tiny(seed=seed) if self.fast else DSIEConfig(seed=seed)
        cfg = replace(cfg, n_groups=int(self.overrides.get("groups", cfg.n_groups)))
        if "levels" in self.overrides:
            cfg = replace(cfg, rqvae=replace(cfg.rqvae, levels=int(self.overrides["levels"])))
        tcfg = self.train.config
        hist = ml_user_sequences(
            log, self._tau(), tcfg.click_threshold, tcfg.short_k, self.train.cmap.mode
        )
        users = [UserSequence.of(h) for h in hist]
        return DSIE.fit(users, log.categories(self.train.cmap.mode), cfg, progress=False)

    def _tau(self) -> int:
        return int(self.overrides.get("tau", 5))

    def _contexts(self, log, until_ts: int, windows: Sequence[int]):
        from learners.pco.data import contexts_from_log

        tcfg = self.train.config
        return contexts_from_log(
            log,
            self.dsie,
            mode=self.train.cmap.mode,
            short_k=tcfg.short_k,
            click_threshold=tcfg.click_threshold,
            tau=self._tau(),
            until_ts=until_ts,
            windows=windows,
            members=self.train.cmap.members if self.plan.all_categories else {},
        )

    # ---- fitting ------------------------------------------------------------------------
    def _key(self, seed: int, *parts: Hashable) -> tuple:
        over = tuple(sorted((k, v) for k, v in self.overrides.items() if k != "alpha"))
        return (id(self.train), seed, self.rounds, over, *parts)

    def _bootstrap(self, seed: int, ctx0):
        """Cycle 0, trained once for the variants whose prompts and data agree, then loaded
        from its artifacts by each of them (`load_models`, as a restarted learner would; a
        deep copy of a PEFT model silently drops its LoRA adapters from the forward pass)."""
        from learners.pco.state import bootstrap, load_models

        cfg = self._pco_config(seed)
        profiles = {g: p.text for g, p in self.dsie.profiles.items()} if self.dsie else {}
        key = self._key(
            seed,
            "cycle0",
            self.plan.groups,
            self.plan.all_categories,
            cfg.use_long_term,
            cfg.use_short_term,
            cfg.n_long_categories,
            cfg.step_source,
            cfg.sft.epochs,
            cfg.reward.epochs,
        )

        def make() -> tempfile.TemporaryDirectory:
            root = tempfile.TemporaryDirectory(prefix="coea-eval-pco0-")
            bootstrap(ctx0, list(self.train.cmap.categories), profiles, cfg, root.name)
            return root  # removed when the cache (one seed) is dropped

        root = self.cache.get(key, make)
        return load_models(root.name, cycle=0, config=cfg)

    def fit_path(self, train: TrainSplit, seed: int) -> None:
        from learners.pco.cycle import run_cycle

        log = self.cache.get(("log", id(train)), lambda: train_log(train))
        self.dsie = None
        times = cutoffs(log, self.rounds)
        if self.plan.groups:
            from learners.pco.data import truncate_log

            self.dsie = self.cache.get(
                self._key(seed, "dsie"), lambda: self._dsie(truncate_log(log, times[0]), seed)
            )
        ctx = {
            t: self.cache.get(
                self._key(seed, "ctx", self.plan.groups, self.plan.all_categories, t),
                lambda k=k, t=t: self._contexts(log, t, times[: k + 1]),
            )
            for k, t in enumerate(times)
        }
        self.final_contexts = {c.user_id: c for c in ctx[times[-1]]}
        self._tmp = tempfile.TemporaryDirectory(prefix="coea-eval-pco-")
        rng = random.Random(seed)
        self.models = self._bootstrap(seed, ctx[times[0]])
        self.curve = {}
        self._record_round(0)
        for k in range(1, self.rounds + 1):
            data = ctx[times[k]] if self.plan.periodic else ctx[times[0]]
            self.models, _ = run_cycle(self.models, data, k, self._tmp.name, rng)
            self._record_round(k)
            if not self.plan.periodic:
                break  # Google-v1: aligned once, then a static database

    def _record_round(self, k: int) -> None:
        if self.round_hook is None:
            return
        self.curve.setdefault("round", []).append(k)
        for key, value in self.round_hook(self).items():
            self.curve.setdefault(key, []).append(value)

    # ---- serving ------------------------------------------------------------------------
    def explore(self, users: Sequence[str], n: int) -> dict[str, list[str]]:
        if self.plan.groups and self.serving == "table":
            return self._explore_table(users, n)
        return self._explore_users(users, n)

    def _explore_table(self, users: Sequence[str], n: int) -> dict[str, list[str]]:
        """The path the system would serve: the learner's table and the serving rule."""
        from coea.table import TableView, version_records
        from learners.engine import novel_table

        default = self.dsie.default_group
        rows, metrics = novel_table(self.models, list(self.final_contexts.values()), default)
        self.table_metrics = metrics
        view = TableView()
        cfg = self.models.config
        records = version_records(
            rows,
            1,
            0,
            "in-process",
            0,
            default_group=default,
            exclude_history=cfg.exclude_history,
            fill_to=cfg.fill_to,
        )
        for key, value in records:
            view.apply(key, value)
        out: dict[str, list[str]] = {}
        rules: dict[str, int] = {}
        for user in users:
            ctx = self.final_contexts.get(user)
            cats, rule = view.serve(
                ctx.group if ctx else None,
                ctx.table_short if ctx else [],
                ctx.clicked_categories if ctx else [],
            )
            out[user] = [c.category for c in cats][:n]
            rules[rule] = rules.get(rule, 0) + 1
        self.served_by_rule = rules
        return out

    def _explore_users(self, users: Sequence[str], n: int) -> dict[str, list[str]]:
        """Each user's own C_align, best first (no table)."""
        from learners.pco.cycle import align, generate, score

        known = [u for u in users if u in self.final_contexts]
        ctxs = [self.final_contexts[u] for u in known]
        cands = generate(self.models, ctxs)
        scores = score(self.models, ctxs, cands) if self.models.config.use_relevance else None
        kept = align(cands, scores, self.models.config.tau_align)
        out: dict[str, list[str]] = {u: [] for u in users}
        for user, row in zip(known, kept, strict=True):
            ordered = sorted(row, key=lambda cs: -cs[1]) if scores is not None else row
            out[user] = [c for c, _ in ordered][:n]
        return out

    def extras(self) -> dict:
        out: dict = super().extras()
        if self.curve:
            out["rounds"] = self.curve
        if self.served_by_rule:
            out["served_by_rule"] = dict(self.served_by_rule)
        if self.table_metrics:
            out["table"] = dict(self.table_metrics)
        return out


def build_pco_method(name: str, provider: BaseProvider, settings, cache: PCOCache) -> PCOMethod:
    reason = pco_unavailable_reason()
    if reason:
        raise RuntimeError(reason)
    return PCOMethod(name, provider, settings, cache)
