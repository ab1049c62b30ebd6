"""`coea learner`: consume training windows, run PCO cycles, publish novel-category tables."""

from __future__ import annotations

import json

import click

from coea.settings import get_settings


@click.command()
@click.option(
    "--until-cycle",
    type=int,
    default=None,
    help="Stop once cycle N is published (a restart counts on).",
)
@click.option(
    "--exit-idle",
    type=float,
    default=None,
    help="Stop when no training window arrived for this many seconds and nothing is pending.",
)
@click.option(
    "--profile",
    type=click.Choice(["default", "small"]),
    default=None,
    help="Model sizes (default: COEA_LEARNER_PROFILE).",
)
def learner(until_cycle: int | None, exit_idle: float | None, profile: str | None) -> None:
    """Run the learner: one process per deployment on the training-windows topic.

    Per cycle (every COEA_LEARNER_CYCLE_WINDOWS windows, on drift, after COEA_LEARNER_IDLE_SECONDS
    without new windows, or every COEA_LEARNER_CYCLE_MINUTES): DSIE groups, reward-model update,
    DPO + KL step, regeneration and scoring for every active (CSID, C'_short) key; then the
    user groups and a new table version are published and offsets committed. Model sizes:
    --profile; a pretrained model: COEA_LEARNER_CHECKPOINT (a local folder); a GPU:
    COEA_LEARNER_DEVICE=cuda. A restart resumes
    from the last complete cycle under COEA_ARTIFACTS_DIR/learner. SIGTERM or Ctrl-C
    stops it; a cycle still training is abandoned and runs again at the next start.
    """
    from learners.engine import engine_config
    from learners.pco.config import DeviceUnavailable
    from learners.worker import Learner

    settings = get_settings()
    from coea.ops.logs import configure, learner_echo, process_secrets

    configure(settings.log_format, process_secrets(settings))
    checkpoint = str(settings.learner_checkpoint) if settings.learner_checkpoint else None
    try:
        cfg = engine_config(
            profile or settings.learner_profile, settings.seed, checkpoint, settings.learner_device
        )
    except DeviceUnavailable as exc:
        raise click.ClickException(f"COEA_LEARNER_DEVICE: {exc}") from exc
    summary = Learner(
        settings,
        cfg,
        until_cycle=until_cycle,
        exit_idle_s=exit_idle,
        echo=learner_echo(settings.log_format, click.echo),
    ).run()
    click.echo("learner summary: " + json.dumps(summary))
