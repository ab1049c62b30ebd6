"""`coea worker`: run the stream app (Faust worker) with the settings of this environment."""

from __future__ import annotations

import os
from pathlib import Path

import click

LOGLEVELS = ("debug", "info", "warning", "error")


@click.command()
@click.option(
    "--loglevel",
    "-l",
    type=click.Choice(LOGLEVELS),
    default="info",
    show_default=True,
    help="Log level of the worker.",
)
@click.option(
    "--logfile",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the log to this file instead of stderr.",
)
@click.option(
    "--web-port",
    type=int,
    default=None,
    help="Port of the web views (default: setting worker_web_port, 6066).",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Root of the worker's RocksDB tables (default: setting data_dir).",
)
def worker(
    loglevel: str, logfile: Path | None, web_port: int | None, data_dir: Path | None
) -> None:
    """Run the stream worker: validate events (bad ones to the DLQ), keep per-user state in
    RocksDB tables backed by changelog topics, emit training windows, serve GET
    /state/<user>/ and /stats/. Stops cleanly on SIGTERM or Ctrl-C.

    Settings (COEA_* environment or coea.toml) choose the broker, topic prefix, tau, caps,
    filter unit (COEA_FILTER_UNIT=category for MovieLens) and windows. A bind address that
    is not loopback needs COEA_WORKER_API_TOKEN(_FILE); docs/security.md.
    """
    if web_port is not None:
        os.environ["COEA_WORKER_WEB_PORT"] = str(web_port)
    if data_dir is not None:
        os.environ["COEA_DATA_DIR"] = str(data_dir)
    if logfile is not None:
        os.environ["COEA_LOG_FILE"] = str(logfile)
    from coea.settings import get_settings

    get_settings.cache_clear()  # the app module reads the settings when it is imported
    settings = get_settings()
    _prepare(settings)
    from stream_app.worker import run

    # Faust spells the warning level "warn".
    argv = ["worker", "--loglevel", "warn" if loglevel == "warning" else loglevel]
    if logfile is not None:
        argv += ["--logfile", str(logfile)]
    run(argv)


def _prepare(settings) -> None:
    """Fail early and clearly on an unsafe web bind or without a broker; create the topics
    the worker needs."""
    from coea.admin import create_named_topics, create_topics
    from coea.broker import answers
    from coea.security import SecurityConfigError, api_token, bind_problem, client_security
    from stream_app.config import advertised_url, worker_topics

    try:
        problem = bind_problem(settings.worker_web_host, api_token(settings))
        client_security(settings)
    except SecurityConfigError as exc:
        problem = str(exc)
    if problem:
        raise click.ClickException(f"refusing to start: {problem}")
    if not answers(settings):
        raise click.ClickException(
            f"no Kafka broker answers at {settings.bootstrap_servers}: start one with "
            "`coea broker up` (or set COEA_KAFKA_HOST / COEA_KAFKA_PORT)"
        )
    create_topics(settings)
    create_named_topics(settings, worker_topics(settings))
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    click.echo(
        f"coea worker: broker {settings.bootstrap_servers}, topics {settings.topic_prefix}.*, "
        f"data {settings.data_dir}, "
        f"web http://{settings.worker_web_host}:{settings.worker_web_port}/ "
        f"(advertised {advertised_url(settings)}), "
        f"filter_unit={settings.filter_unit}, tau={settings.tau}, windows={settings.window_mode}",
        err=True,
    )
