"""The CLI builds only the parser of the verb it runs; the verb table it uses for that stays true."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys

import pytest

from cicd.cli import VERB_MODULES, VERB_OWNERS, build_parser, verb_modules


def test_every_verb_is_owned_by_the_module_that_registers_it():
    registered = {}
    for name in VERB_MODULES:
        subparsers = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(f"cicd.cli.{name}").register(subparsers)
        registered.update(dict.fromkeys(subparsers.choices, name))
    assert registered == VERB_OWNERS


@pytest.mark.parametrize(
    ("argv", "modules"),
    [
        (["rollback", "--env", "staging"], ("deploy",)),
        (["-v", "flags", "set", "x", "--percent", "5"], ("flags",)),
        ([], VERB_MODULES),
        (["--help"], VERB_MODULES),
        (["rolback"], VERB_MODULES),  # a typo: argparse lists every verb
    ],
)
def test_a_command_loads_only_its_verb_module(argv, modules):
    assert verb_modules(argv) == modules


def test_a_verb_parses_the_same_with_its_own_parser_as_with_all():
    argv = ["rollback", "--env", "staging", "--to", "1.2.0", "--reason", "bad"]
    assert vars(build_parser(argv).parse_args(argv)) == vars(build_parser().parse_args(argv))


def test_rollback_does_not_import_the_other_verbs():
    code = (
        "import sys; from cicd.cli import build_parser; build_parser(['rollback', '--env', 'x']); "
        "print(sorted(m for m in sys.modules if m.startswith('cicd.cli.')))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "['cicd.cli.deploy']"


def test_an_unknown_verb_still_lists_every_verb(capsys):
    with pytest.raises(SystemExit):
        build_parser(["rolback"]).parse_args(["rolback"])
    assert "rollback" in capsys.readouterr().err
