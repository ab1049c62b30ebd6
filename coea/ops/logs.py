"""Log lines: human-readable by default, or one JSON object per line (`COEA_LOG_FORMAT=json`).

JSON lines always carry the same keys: ``ts``, ``level``, ``logger``, ``event``, ``message``,
``partition``, ``offset``, ``cycle``, ``version`` (null when a line has no such fact). Callers
pass the facts with ``extra={"event": ..., "cycle": ...}``. In both formats the value of every
secret setting (a password, a token) is replaced by ``***`` before a line is written.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretBytes, SecretStr

FACT_KEYS: tuple[str, ...] = ("partition", "offset", "cycle", "version")
JSON_KEYS: tuple[str, ...] = ("ts", "level", "logger", "event", "message", *FACT_KEYS)
MASK = "***"
_SECRET_NAME = re.compile(r"(password|passwd|secret|token|credential|private_key)", re.I)


def secret_values(model: BaseModel) -> list[str]:
    """Values of a settings model that must never be written: fields of a secret type, or
    whose name says password/secret/token/credential (non-empty strings only)."""
    out: list[str] = []
    for name in type(model).model_fields:
        value = getattr(model, name, None)
        if isinstance(value, SecretStr | SecretBytes):
            raw = value.get_secret_value()
            value = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        elif not _SECRET_NAME.search(name):
            continue
        if isinstance(value, str) and value:
            out.append(value)
    return sorted(set(out), key=len, reverse=True)


def process_secrets(settings: BaseModel) -> list[str]:
    """`secret_values` of the settings plus the secrets they name by file (the Kafka password
    file, the API token file), read the way the clients read them."""
    out = set(secret_values(settings))
    try:
        from coea import security
    except ImportError:  # pragma: no cover (the security module ships with the settings)
        return sorted(out, key=len, reverse=True)
    for read in (
        lambda: security.client_security(settings).password,
        lambda: security.api_token(settings),
    ):
        try:
            value = read()
        except Exception:  # an unreadable secret file is reported where it is used
            value = None
        if value:
            out.add(value)
    return sorted(out, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every occurrence of each secret replaced by ``***``."""
    for s in secrets:
        if s:
            text = text.replace(s, MASK)
    return text


class RedactFilter(logging.Filter):
    """Handler filter: formats the message once and masks secrets in it (and in tracebacks)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            record.msg, record.args = redact(record.getMessage(), self.secrets), None
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = redact(record.exc_text, self.secrets)
        return True


def json_line(record: logging.LogRecord, formatted_exc: str | None = None) -> str:
    """One log record as a JSON object with `JSON_KEYS` (and ``exc`` for a traceback)."""
    message = record.getMessage()
    out: dict[str, Any] = {
        "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        + f".{int(record.msecs):03d}Z",
        "level": record.levelname.lower(),
        "logger": record.name,
        "event": getattr(record, "event", None) or "log",
        "message": message,
    }
    for key in FACT_KEYS:
        out[key] = getattr(record, key, None)
    if formatted_exc:
        out["exc"] = formatted_exc
    return json.dumps(out, default=str)


class JsonFormatter(logging.Formatter):
    """`logging.Formatter` writing `json_line`."""

    def format(self, record: logging.LogRecord) -> str:
        exc = record.exc_text
        if record.exc_info and not exc:
            exc = self.formatException(record.exc_info)
        return json_line(record, exc)


TEXT_FORMAT = "[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s"


def configure(log_format: str, secrets: Iterable[str] = (), level: int = logging.INFO) -> None:
    """Root logging of a plain process (the learner, the CLI): one stream handler on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    handler.addFilter(RedactFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def faust_logging_config(
    log_format: str, secrets: Iterable[str] = (), log_file: Path | str | None = None
) -> dict[str, Any]:
    """Faust's ``logging_config`` (merged into mode's default): the worker's one handler, on
    stderr or `log_file`, with the chosen format and the secret filter."""
    handler: dict[str, Any] = {"class": "logging.StreamHandler"}
    if log_file is not None:
        handler = {"class": "logging.FileHandler", "filename": str(log_file)}
    formatter = (
        {"()": f"{__name__}.JsonFormatter"} if log_format == "json" else {"format": TEXT_FORMAT}
    )
    return {
        "version": 1,
        "merge": True,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": f"{__name__}.RedactFilter", "secrets": list(secrets)}},
        "formatters": {"coea": formatter},
        "handlers": {
            "default": {
                **handler,
                "formatter": "coea",
                "filters": ["redact"],
            }
        },
    }


_CYCLE = re.compile(r"\bcycle (\d+)\b")
_EVENTS: tuple[tuple[str, str], ...] = (
    (" published:", "cycle_published"),
    (" postponed:", "cycle_postponed"),
    ("resumed after cycle", "resumed"),
    ("not fully published", "republish"),
    ("offset commit failed", "commit_failed"),
    ("no new windows", "idle_stop"),
    (" on ", "cycle_started"),
)


def learner_line_facts(line: str) -> dict[str, Any]:
    """`event`, `cycle` and `version` of one of the learner's progress lines (pure)."""
    m = _CYCLE.search(line)
    cycle = int(m.group(1)) if m else None
    event = next((e for marker, e in _EVENTS if marker in line and cycle is not None), "learner")
    if event == "learner" and "no new windows" in line:
        event = "idle_stop"
    version = cycle if event in ("cycle_published", "republish") else None
    return {"event": event, "cycle": cycle, "version": version}


def learner_echo(log_format: str, plain: Callable[[str], None]) -> Callable[[str], None]:
    """The learner's progress-line writer: `plain` (stdout) in text format, else a JSON log
    line on the ``coea.learner`` logger with the line's facts."""
    if log_format != "json":
        return plain
    log = logging.getLogger("coea.learner")

    def echo(line: str) -> None:
        log.info(line, extra=learner_line_facts(line))

    return echo
