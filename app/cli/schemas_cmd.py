"""`coea schemas export DIR|validate FILE`: the wire records' JSON Schemas."""

from __future__ import annotations

import json
from pathlib import Path

import click

from coea.schemas import RecordError, decode_event, json_schemas


@click.group()
def schemas() -> None:
    """Export the JSON Schemas of the wire records, or validate events against them."""


@schemas.command()
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
def export(out_dir: Path) -> None:
    """Write one <record>.schema.json per wire record into OUT_DIR."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, schema in json_schemas().items():
        path = out_dir / f"{name}.schema.json"
        path.write_text(json.dumps(schema, indent=2) + "\n")
        click.echo(f"wrote {path}")


@schemas.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def validate(path: Path) -> None:
    """Validate a JSON-lines file of events; report each bad line with its reason."""
    bad = 0
    with open(path, "rb") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                decode_event(line.rstrip(b"\n"))
            except RecordError as exc:
                bad += 1
                click.echo(f"{path}:{n}: {exc}")
    click.echo(f"{bad} invalid line(s)")
    raise SystemExit(1 if bad else 0)
