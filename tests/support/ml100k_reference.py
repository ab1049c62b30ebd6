"""The independent ML-100K reference of tests/stream_app/test_ingest_integration.py (final
state per user computed straight from the MovieLens files), for fault tests elsewhere."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_SOURCE = Path(__file__).resolve().parents[1] / "stream_app" / "test_ingest_integration.py"
_spec = importlib.util.spec_from_file_location("ml100k_ingest_reference", _SOURCE)
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)

reference = _module.reference
assert_states_match = _module.assert_states_match
PARAMS = _module.PARAMS
