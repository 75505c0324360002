"""vehsim: a deterministic simulation of a combustion car, and the workbench around it.

``import vehsim`` stays light: NumPy, pandas and Numba for the kernel; Kafka, Spark, MLflow and
Jupyter are optional extras used by the layers built on this library.
"""

from vehsim.commands import Command, parse_command
from vehsim.cycles import Cycle, list_cycles, load_cycle
from vehsim.errors import CommandError, ConfigError, CycleError, ParameterError, VehsimError
from vehsim.params import VehicleParams, list_vehicles, load_vehicle
from vehsim.simulator import Result, Simulator, simulate, simulate_fleet
from vehsim.testcar import vehicle_from_testcar
from vehsim import telemetry

__version__ = "0.1.0"

__all__ = [
    "Command", "CommandError", "ConfigError", "Cycle", "CycleError", "ParameterError", "Result",
    "Simulator", "VehicleParams", "VehsimError", "list_cycles", "list_vehicles", "load_cycle",
    "load_vehicle", "parse_command", "simulate", "simulate_fleet", "telemetry", "vehicle_from_testcar",
]
