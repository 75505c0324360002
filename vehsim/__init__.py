"""vehsim: a deterministic simulation of a combustion car, and the workbench around it.

``import vehsim`` is light: the public names below load their modules (NumPy, pandas, the Numba
kernel) on first use, so a process that only needs ``vehsim.config`` or ``vehsim.events`` (a
Spark worker, the Kafka runtime's helpers) does not pay for the simulation. Kafka, Spark, MLflow
and Jupyter are optional extras used by the layers built on this library.
"""

from importlib import import_module
from typing import TYPE_CHECKING

__version__ = "0.1.0"

#: Public name -> module that defines it.
_EXPORTS = {
    "Command": "vehsim.commands",
    "parse_command": "vehsim.commands",
    "Cycle": "vehsim.cycles",
    "list_cycles": "vehsim.cycles",
    "load_cycle": "vehsim.cycles",
    "VehsimError": "vehsim.errors",
    "CommandError": "vehsim.errors",
    "ConfigError": "vehsim.errors",
    "CycleError": "vehsim.errors",
    "ParameterError": "vehsim.errors",
    "VehicleParams": "vehsim.params",
    "list_vehicles": "vehsim.params",
    "load_vehicle": "vehsim.params",
    "Result": "vehsim.simulator",
    "Simulator": "vehsim.simulator",
    "simulate": "vehsim.simulator",
    "simulate_fleet": "vehsim.simulator",
    "mild_hybrid": "vehsim.testcar",
    "vehicle_from_testcar": "vehsim.testcar",
}
_SUBMODULES = {"telemetry"}

__all__ = sorted([*_EXPORTS, *_SUBMODULES])


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
    elif name in _SUBMODULES:
        value = import_module(f"vehsim.{name}")
    else:
        raise AttributeError(f"module 'vehsim' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted([*globals(), *__all__])


if TYPE_CHECKING:  # for type checkers and IDEs
    from vehsim import telemetry  # noqa: F401
    from vehsim.commands import Command, parse_command  # noqa: F401
    from vehsim.cycles import Cycle, list_cycles, load_cycle  # noqa: F401
    from vehsim.errors import (  # noqa: F401
        CommandError,
        ConfigError,
        CycleError,
        ParameterError,
        VehsimError,
    )
    from vehsim.params import VehicleParams, list_vehicles, load_vehicle  # noqa: F401
    from vehsim.simulator import Result, Simulator, simulate, simulate_fleet  # noqa: F401
    from vehsim.testcar import mild_hybrid, vehicle_from_testcar  # noqa: F401
