"""`python -m learners.pco.experiment` and `coea pco run` take the same options."""

from __future__ import annotations

import argparse

import click
import pytest
from click.testing import CliRunner

from app.cli.pco_cmd import experiment_args, pco
from app.cli.pco_cmd import run as run_cmd
from learners.pco.experiment import parser
from learners.pco.options import OPTIONS


def _argparse_options() -> dict[str, argparse.Action]:
    """Long flag -> action of the experiment parser (without --help)."""
    return {
        a.option_strings[-1]: a
        for a in parser()._actions
        if a.option_strings and not isinstance(a, argparse._HelpAction)
    }


def _click_options() -> dict[str, click.Option]:
    """Long flag -> option of `coea pco run`."""
    return {p.opts[0]: p for p in run_cmd.params if isinstance(p, click.Option)}


def _choices(param: click.Option) -> list[str] | None:
    return list(param.type.choices) if isinstance(param.type, click.Choice) else None


def test_both_commands_have_the_same_flags():
    assert set(_argparse_options()) == set(_click_options())
    assert set(_argparse_options()) == {spec.flag for spec in OPTIONS}


@pytest.mark.parametrize("flag", sorted(spec.flag for spec in OPTIONS))
def test_each_option_agrees(flag):
    action, option = _argparse_options()[flag], _click_options()[flag]
    assert option.name == action.dest, flag
    assert option.default == action.default, flag
    assert option.required == action.required, flag
    assert option.is_flag == isinstance(action, argparse._StoreTrueAction), flag
    assert _choices(option) == (list(action.choices) if action.choices else None), flag
    assert option.help and action.help and action.help.startswith(option.help), flag


def test_experiment_defaults_are_the_table_defaults():
    args = parser().parse_args(["--path", "x"])
    for spec in OPTIONS:
        expected = "x" if spec.flag == "--path" else (False if spec.is_flag else spec.default)
        assert getattr(args, spec.dest) == expected, spec.flag


def test_click_values_become_the_experiment_namespace(tmp_path):
    """`coea pco run` hands the experiment the same namespace its own parser would build."""
    argv = ["--path", str(tmp_path), "--cycles", "3", "--categories", "genre", "--compare-kl"]
    ctx = run_cmd.make_context("run", list(argv))
    assert experiment_args(ctx.params) == parser().parse_args(argv)


def test_run_help_lists_every_option():
    result = CliRunner().invoke(pco, ["run", "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    missing = [spec.flag for spec in OPTIONS if spec.flag not in result.output]
    assert not missing, missing


def test_experiment_help_lists_every_option(capsys):
    with pytest.raises(SystemExit) as exit_info:
        parser().parse_args(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert not [spec.flag for spec in OPTIONS if spec.flag not in out]
