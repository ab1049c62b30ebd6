"""`coea state USER_ID`: print one user's stream state (from the worker, or its RocksDB files)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import click

from coea.settings import get_settings


def fetch_from_worker(settings, user_id: str, timeout_s: float = 3.0) -> dict | None:
    """GET /state/<user>/ from the running worker; None if it has no such user.

    Raises OSError when no worker answers.
    """
    url = f"http://{settings.worker_web_host}:{settings.worker_web_port}/state/{user_id}/"
    from coea.security import auth_headers

    request = urllib.request.Request(url, headers=auth_headers(settings))
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise OSError(f"{url}: HTTP {exc.code}") from exc


@click.command()
@click.argument("user_id", required=False)
@click.option(
    "--source",
    type=click.Choice(["auto", "worker", "store"]),
    default="auto",
    show_default=True,
    help="worker: ask the running worker's web view; store: open its RocksDB tables "
    "read-only; auto: the worker, else the store.",
)
@click.option(
    "--all",
    "all_users",
    is_flag=True,
    help="Print every user's state from the store, one JSON object per line.",
)
def state(user_id: str | None, source: str, all_users: bool) -> None:
    """Print USER_ID's state as JSON: filtered long-term items (I'_long) and their categories,
    short-term categories (C_short, C'_short), negatives, features and window accumulators."""
    from coea.state import StateParams
    from stream_app import store

    settings = get_settings()
    params = StateParams.from_settings(settings)
    if all_users:
        for st in store.iter_users(settings):
            click.echo(json.dumps(st.view(params)))
        return
    if not user_id:
        raise click.UsageError("give a USER_ID, or --all")
    view = None
    if source in ("auto", "worker"):
        try:
            view = fetch_from_worker(settings, user_id)
            source = "worker"
        except OSError as exc:
            if source == "worker":
                raise click.ClickException(f"no worker answers: {exc}") from exc
    if source in ("auto", "store"):
        found = store.read_user(settings, user_id)
        view = found.view(params) if found is not None else None
    if view is None:
        raise click.ClickException(f"no state for user {user_id!r} ({source})")
    click.echo(json.dumps(view, indent=2))
