#!/usr/bin/env bash
# Sets up a fresh clone: a virtual environment at .venv with the package and its dev extra
# (exact versions from constraints.txt), and the Apache Kafka broker jars (infra/kafka).
# Safe to run again: each step is skipped or quick when already done.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
start=$(date +%s)
PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
  echo "error: coea-stream needs Python >= 3.11 ($PY is $("$PY" --version 2>&1))" >&2
  exit 2
fi
command -v java >/dev/null || { echo "error: Java 17+ is needed for the Kafka broker (apt-get install openjdk-17-jre-headless)" >&2; exit 2; }
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating virtual environment .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.coea-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ constraints.txt -nt "$stamp" ]; then
  echo "[setup] installing coea-stream and its dependencies (first time: several minutes, torch is large)"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -c constraints.txt -e ".[dev]"
  touch "$stamp"
else
  echo "[setup] python packages up to date"
fi
echo "[setup] kafka jars"
bash infra/kafka/fetch.sh
echo "[setup] done in $(( $(date +%s) - start ))s"
