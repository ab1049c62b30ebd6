"""`coea --help` and every subcommand's --help say what they do."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from app.cli.main import COMMANDS, cli


def _walk(cmd: click.Command, path: list[str]):
    yield path, cmd
    if isinstance(cmd, click.Group):
        ctx = click.Context(cmd)
        for name in cmd.list_commands(ctx):
            yield from _walk(cmd.get_command(ctx, name), [*path, name])


def test_top_level_help_lists_commands():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in ("broker", "topics", "schemas", "smoke"):
        assert name in result.output


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_subcommand_has_help(name):
    for path, cmd in _walk(cli.get_command(click.Context(cli), name), [name]):
        result = CliRunner().invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert cmd.help and len(cmd.help.strip()) > 20, f"`coea {' '.join(path)}` lacks a help text"
        for param in cmd.params:
            if isinstance(param, click.Option) and not param.hidden and param.name != "help":
                assert param.help, f"`coea {' '.join(path)} {param.opts[0]}` has no help text"


def test_unknown_command_is_an_error():
    result = CliRunner().invoke(cli, ["frobnicate"])
    assert result.exit_code != 0 and "No such command" in result.output


def test_schema_export(tmp_path):
    result = CliRunner().invoke(cli, ["schemas", "export", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "event.schema.json").is_file()
    assert len(list(tmp_path.glob("*.schema.json"))) == 6


def test_schema_validate_reports_line_numbers(tmp_path):
    f = tmp_path / "events.jsonl"
    f.write_text(
        '{"kind":"click","event_id":"e","user_id":"u","item_id":"i","ts":1}\n'
        '{"kind":"click","event_id":"e","item_id":"i","ts":1}\n'
    )
    result = CliRunner().invoke(cli, ["schemas", "validate", str(f)])
    assert result.exit_code == 1
    assert f"{f}:2: user_id: Field required" in result.output


def test_the_category_mode_has_one_name_everywhere():
    """Every command that reads MovieLens categories calls the choice `--categories`, with the
    same two values; no command spells it another way."""
    seen = {}
    for path, cmd in _walk(cli, []):
        for param in cmd.params:
            opts = getattr(param, "opts", [])
            if "--categories" in opts:
                seen[" ".join(path)] = sorted(param.type.choices)
            assert not {"--category-mode", "--mode"} & set(opts), (path, opts)
    assert {"replay", "evaluate", "groups fit", "pco run"} <= set(seen), seen
    assert all(choices == ["genre", "genre-combo"] for choices in seen.values()), seen
