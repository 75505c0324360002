"""Option names agree across commands (issue 16): ``--ambient-temp-c`` everywhere, the old
``--ambient-c`` of ``vehsim simulate`` still accepted with a deprecation warning; ``--state`` and
``--wear-scale`` on ``vehsim simulate`` and ``vehsim drive``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vehsim.cli import build_parser, main

SIMULATE = ["simulate", "--vehicle", "compact-sedan", "--cycle", "hwfet", "--dt-s", "0.1"]


def test_old_ambient_spelling_warns_and_means_the_same(capsys):
    assert main([*SIMULATE, "--ambient-temp-c", "5", "--format", "json", "--quiet"]) == 0
    new, err_new = capsys.readouterr()
    assert "deprecated" not in err_new
    assert main([*SIMULATE, "--ambient-c", "5", "--format", "json", "--quiet"]) == 0
    old, err_old = capsys.readouterr()
    assert "--ambient-c is deprecated" in err_old and "--ambient-temp-c" in err_old
    assert json.loads(old) == json.loads(new)
    assert json.loads(new)["ambient_temp_c"] == 5.0


@pytest.mark.parametrize("command", ["simulate", "drive"])
def test_every_command_spells_ambient_state_and_wear_scale_alike(command):
    parser = build_parser()
    argv = [command, "--ambient-temp-c", "-7", "--state", "car.json", "--wear-scale", "50"]
    if command == "simulate":
        argv += ["--vehicle", "compact-sedan", "--cycle", "udds"]
    args = parser.parse_args(argv)
    assert args.ambient_temp_c == -7.0
    assert args.state == Path("car.json") and args.wear_scale == 50.0


def test_drive_state_needs_exactly_one_car(capsys):
    code = main(["drive", "--vehicles", "2", "--state", "car.json", "--duration-s", "1"])
    assert code == 2
    assert "--state holds one car's state" in capsys.readouterr().err
