"""Training-window records built from MovieLens-100K with the stream's own state rules.

Used as *input* by the learner tests (they exercise the learner, not the stream worker).
"""

from __future__ import annotations

from coea.data.events_io import ml_catalogue, ml_events
from coea.data.movielens import load_ml_100k
from coea.schemas import ItemRecord, TrainingWindow
from coea.state import StateParams, UserState, to_training_window, update_state


def ml100k_windows(
    path, n_users: int = 200, n_windows: int = 3, start_share: float = 0.6
) -> tuple[list[ItemRecord], list[TrainingWindow]]:
    """The catalogue and the windows of the first n_users users (ids 1..n_users).

    The first `start_share` of each user's history falls in window 0; the rest of the
    global timeline is cut into n_windows - 1 equal-count windows.
    """
    log = load_ml_100k(path)
    keep = {str(u) for u in range(1, n_users + 1)}
    events = [e for e in ml_events(log) if e.user_id in keep]
    params = StateParams(filter_unit="category")
    bounds = [
        int(len(events) * (start_share + (1 - start_share) * k / (n_windows - 1)))
        for k in range(n_windows - 1)
    ] + [len(events)]
    states: dict[str, UserState] = {}
    out: list[TrainingWindow] = []
    lo = 0
    for wid, hi in enumerate(bounds):
        active = []
        for e in events[lo:hi]:
            st = states.setdefault(e.user_id, UserState(user_id=e.user_id))
            if update_state(st, e, e.category, params, wid) and e.user_id not in active:
                active.append(e.user_id)
        for uid in sorted(active, key=int):
            st = states[uid]
            out.append(to_training_window(st, params, wid, st.window_ts_start, st.window_ts_end))
        lo = hi
    return ml_catalogue(log), out
