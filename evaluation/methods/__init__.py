"""Registry of the compared methods: names, Table 2 labels, and how each is built.

`build_methods` gives every exploration method the same `BaseProvider` (one fitted SASRec
per seed) and the same `BlendConfig`, so their final lists are formed identically.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from evaluation.blend import BlendConfig
from evaluation.methods.base import EXPLOITATION, EXPLORATION, OURS, Method
from evaluation.methods.seqtrain import SeqConfig


@dataclass(frozen=True)
class MethodSpec:
    name: str  # CLI name
    label: str  # Table 2 row label
    kind: str  # Exploitation | Exploration | Ours


SPECS: tuple[MethodSpec, ...] = (
    MethodSpec("most-popular", "MostPop", EXPLOITATION),
    MethodSpec("user-popular", "UserPop", EXPLOITATION),
    MethodSpec("two-tower", "Two-tower", EXPLOITATION),
    MethodSpec("gru4rec", "GRU4Rec", EXPLOITATION),
    MethodSpec("sasrec", "SASRec", EXPLOITATION),
    MethodSpec("bert4rec", "Bert4Rec", EXPLOITATION),
    MethodSpec("unseen-popular", "UnseenPop", EXPLORATION),
    MethodSpec("neighbour-unseen", "NeighbourUnseen", EXPLORATION),
    MethodSpec("hucb", "HUCB", EXPLORATION),
    MethodSpec("explore", "EXPLORE", EXPLORATION),
    MethodSpec("google-v1", "Google-v1", EXPLORATION),
    MethodSpec("coea-no-long", "CoEA (w/o Long)", OURS),
    MethodSpec("coea-no-short", "CoEA (w/o Short)", OURS),
    MethodSpec("coea-no-rllm", "CoEA (w/o R-LLM)", OURS),
    MethodSpec("coea-no-kl", "CoEA (w/o KL)", OURS),
    MethodSpec("coea-no-own-history", "CoEA (w/o own history)", OURS),
    MethodSpec("coea-no-history-mask", "CoEA (w/o history mask)", OURS),
    MethodSpec("coea-no-debias", "CoEA (w/o debias)", OURS),
    MethodSpec("coea-no-history-steps", "CoEA (w/o history steps)", OURS),
    MethodSpec("coea-no-group-lift", "CoEA (w/o group lift)", OURS),
    MethodSpec("coea-no-fill", "CoEA (w/o row fill)", OURS),
    MethodSpec("coea-first-category", "CoEA (first category only)", OURS),
    MethodSpec("coea", "CoEA", OURS),
    MethodSpec("coea-live", "CoEA (live)", OURS),
)
SPEC_BY_NAME = {s.name: s for s in SPECS}
PCO_METHODS = (
    "google-v1",
    "coea",
    "coea-no-long",
    "coea-no-short",
    "coea-no-rllm",
    "coea-no-kl",
    "coea-no-own-history",
    "coea-no-history-mask",
    "coea-no-debias",
    "coea-no-history-steps",
    "coea-no-group-lift",
    "coea-no-fill",
    "coea-first-category",
)
CHEAP_METHODS = (
    "most-popular",
    "user-popular",
    "sasrec",
    "unseen-popular",
    "neighbour-unseen",
    "hucb",
    "explore",
)
#: Methods that need the running system (a broker): only with `coea evaluate --live`.
LIVE_METHODS = ("coea-live",)


@dataclass(frozen=True)
class MethodSettings:
    """Knobs shared by all methods of one run."""

    seq: SeqConfig = field(default_factory=SeqConfig)  # the torch baselines' size and budget
    blend: BlendConfig = field(default_factory=BlendConfig)  # one rule for every explorer
    base: str = "sasrec"  # the exploitation ranking every exploration path is blended into
    pco_overrides: dict[str, object] = field(default_factory=dict)  # CoEA sweeps (tau, alpha...)
    pco_rounds: int | None = None  # PCO cycles for CoEA/Google-v1 (None: their default)
    live: object | None = None  # evaluation.methods.live.LiveConfig, for coea-live


def unavailable_reason(name: str) -> str | None:
    """Why a method cannot run in this checkout, or None when it can."""
    if name not in SPEC_BY_NAME:
        return f"unknown method {name!r}; known: {', '.join(SPEC_BY_NAME)}"
    if name in PCO_METHODS or name in LIVE_METHODS:
        from evaluation.methods.pco_adapters import pco_unavailable_reason

        return pco_unavailable_reason()
    return None


def _item_factories(settings: MethodSettings) -> dict[str, Callable[[], Method]]:
    from evaluation.methods.bert4rec import BERT4Rec
    from evaluation.methods.gru4rec import GRU4Rec
    from evaluation.methods.popularity import MostPopular, UserPopular
    from evaluation.methods.sasrec import SASRec
    from evaluation.methods.two_tower import TwoTower

    seq = settings.seq
    return {
        "most-popular": MostPopular,
        "user-popular": UserPopular,
        # Two-tower sees every (prefix, next item) pair: far more rows per epoch.
        "two-tower": lambda: TwoTower(replace(seq, epochs=max(2, seq.epochs // 4))),
        "gru4rec": lambda: GRU4Rec(seq),
        "sasrec": lambda: SASRec(seq),
        "bert4rec": lambda: BERT4Rec(seq),
    }


def build_methods(names: list[str], settings: MethodSettings) -> list[Method]:
    """Instantiate the named methods (in the given order) with one shared base provider."""
    from evaluation.methods.explore import Explore
    from evaluation.methods.explorer import BaseProvider, SharedBase
    from evaluation.methods.hucb import HUCB
    from evaluation.methods.unseen import NeighbourUnseen, UnseenPopular

    factories = _item_factories(settings)
    provider = BaseProvider(settings.base, factories[settings.base])
    pco_cache = None
    out: list[Method] = []
    for name in names:
        reason = unavailable_reason(name)
        if reason:
            raise RuntimeError(f"method {name!r} is not available: {reason}")
        if name == settings.base:
            method: Method = SharedBase(provider, SPEC_BY_NAME[name].kind)
        elif name in factories:
            method = factories[name]()
        elif name == "unseen-popular":
            method = UnseenPopular(provider, settings.blend)
        elif name == "neighbour-unseen":
            method = NeighbourUnseen(provider, settings.blend)
        elif name == "hucb":
            method = HUCB(provider, settings.blend)
        elif name == "explore":
            method = Explore(provider, settings.blend)
        elif name == "coea-live":
            from evaluation.methods.live import LiveCoEA

            if settings.live is None:
                raise RuntimeError("coea-live runs the live system: use `coea evaluate --live`")
            method = LiveCoEA(provider, settings, settings.live)
        else:
            from evaluation.methods.pco_adapters import PCOCache, build_pco_method

            pco_cache = pco_cache or PCOCache()  # one per build: per seed in the runner
            method = build_pco_method(name, provider, settings, pco_cache)
        method.name = name
        out.append(method)
    return out
