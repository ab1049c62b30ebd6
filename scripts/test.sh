#!/usr/bin/env bash
# The README's second command: set up as scripts/setup.sh does, start the real Kafka broker,
# lint, and run the whole test suite (unit + integration). Stops the broker afterwards if this
# script started it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
started_broker=0
if ! .venv/bin/coea broker status >/dev/null 2>&1; then
  started_broker=1
fi
.venv/bin/coea broker up
cleanup() {
  if [ "$started_broker" = 1 ]; then .venv/bin/coea broker down || true; fi
}
trap cleanup EXIT
echo "[test] ruff"
.venv/bin/ruff check .
echo "[test] pytest"
set +e
.venv/bin/python -m pytest --timeout=900 --durations=15 "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then
  echo "[test] pytest collected no tests: that is a failure here" >&2
  exit 1
fi
exit "$rc"
