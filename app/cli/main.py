"""`coea`: one console script, one subcommand per job.

Subcommands are loaded lazily (`--help` stays fast and does not import torch).
"""

from __future__ import annotations

import importlib

import click

#: name -> "module:attribute" of a click command or group.
COMMANDS: dict[str, str] = {
    "broker": "app.cli.broker_cmd:broker",
    "topics": "app.cli.topics_cmd:topics",
    "schemas": "app.cli.schemas_cmd:schemas",
    "smoke": "app.cli.smoke_cmd:smoke",
    "worker": "app.cli.worker_cmd:worker",
    "replay": "app.cli.replay_cmd:replay",
    "state": "app.cli.state_cmd:state",
    "groups": "app.cli.groups_cmd:groups",
    "pco": "app.cli.pco_cmd:pco",
    "learner": "app.cli.learner_cmd:learner",
    "evaluate": "app.cli.evaluate_cmd:evaluate",
    "demo": "app.cli.demo_cmd:demo",
    "status": "app.cli.status_cmd:status",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attr = COMMANDS[cmd_name].split(":")
        return getattr(importlib.import_module(module), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="coea-stream", prog_name="coea")
def cli() -> None:
    """coea-stream: streaming serendipitous recommendation (CoEA) on Apache Kafka.

    Settings come from COEA_* environment variables or a coea.toml / COEA_CONFIG file;
    `coea <command> --help` describes each command.
    """
