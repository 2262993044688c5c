"""Guard: every leaf command of `pgbooks` has a subprocess test marked ``@pytest.mark.cli``.

The markers are read statically from every test file (so running this test alone is enough);
a marker naming a command that no longer exists fails too. Adding a command? Add a test that
runs it with the ``cli`` fixture of tests/cli/conftest.py and mark it (CONVENTIONS.md, "CLI").
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import typer

from pgbooks.cli import app

from .conftest import command_path, leaf_commands

TESTS = Path(__file__).resolve().parents[1]


def _marked() -> dict[str, list[str]]:
    """command -> test files whose tests carry ``pytest.mark.cli("command", ...)``."""
    found: dict[str, list[str]] = {}
    for path in sorted(TESTS.rglob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "cli"
                and isinstance(node.func.value, ast.Attribute)
                and node.func.value.attr == "mark"
            ):
                for arg in node.args:
                    assert isinstance(arg, ast.Constant), f"{path}: cli() takes string literals"
                    found.setdefault(str(arg.value), []).append(path.name)
    return found


# Documented gap (README "Known limits"): merged without a subprocess test of their own; remove a
# command from here when its test lands (the test below fails if a listed one has a test).
PENDING: set[str] = set()


def test_every_leaf_command_has_a_subprocess_test() -> None:
    leaves = leaf_commands()
    assert len(leaves) > 20, leaves  # the walk found the tree
    assert PENDING <= leaves, sorted(PENDING - leaves)
    assert not PENDING & set(_marked()), "tested now: remove from PENDING"
    missing = sorted(leaves - set(_marked()) - PENDING)
    assert not missing, (
        "commands without a subprocess test (mark one with @pytest.mark.cli(...), "
        f"see CONVENTIONS.md): {missing}"
    )


def test_no_marker_names_a_command_that_does_not_exist() -> None:
    stale = sorted(set(_marked()) - leaf_commands())
    assert not stale, f"@pytest.mark.cli names unknown commands: {stale}"


def test_command_path_resolves_arguments() -> None:
    assert command_path(("bank", "import", "file.csv", "--json")) == "bank import"
    assert command_path(("status", "--json")) == "status"
    assert command_path(("--help",)) == ""


def _leaf_objects() -> dict[str, Any]:
    out: dict[str, Any] = {}

    def walk(cmd: Any, path: tuple[str, ...]) -> None:
        if hasattr(cmd, "commands"):
            assert (cmd.help or "").strip(), f"`pgbooks {' '.join(path)}` group has no help"
            for name, sub in cmd.commands.items():
                walk(sub, (*path, name))
        else:
            out[" ".join(path)] = cmd

    walk(typer.main.get_command(app), ())
    return out


# servers: they print no data, so they have no --json
NO_JSON = {"receive", "sandbox serve"}


def test_every_command_explains_itself_and_offers_json() -> None:
    problems = []
    for name, cmd in sorted(_leaf_objects().items()):
        if not (cmd.help or "").strip():
            problems.append(f"{name}: no help text (docstring)")
        for param in cmd.params:
            if not (getattr(param, "help", None) or "").strip():
                problems.append(f"{name}: {param.name} has no help")
        has_json = any("--json" in p.opts for p in cmd.params)
        if has_json == (name in NO_JSON):
            problems.append(f"{name}: --json {'unexpected' if has_json else 'missing'}")
    assert not problems, "\n".join(problems)
