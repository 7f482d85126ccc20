"""The README documents every environment variable ccgraph reads and every command and flag of
its command line (the mission: "README documents every command and environment variable")."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from ccgraph.cli import parser
from ccgraph.config import Settings, variable

README = (Path(__file__).parent.parent / "README.md").read_text()


def test_every_setting_s_variable_is_in_the_readme():
    missing = [variable(f.name) for f in dataclasses.fields(Settings) if variable(f.name) not in README]
    assert missing == []


def test_every_command_and_flag_is_in_the_readme():
    commands = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction))
    missing = []
    for name, sub in commands.choices.items():
        if f"ccgraph {name}" not in README:
            missing.append(name)
        for action in sub._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and flag not in ("--help",) and f"`{flag}" not in README:
                    missing.append(f"{name} {flag}")
    assert missing == []
