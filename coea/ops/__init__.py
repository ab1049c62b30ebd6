"""Operability shared by the worker, the learner and the CLI: dead-letter reason labels,
structured logs, health probes, a small HTTP server for probes and metrics, `coea status`.

No Faust or torch imports here: the CLI and both processes import it.
"""
