"""vehsim: a deterministic simulation of a combustion car, and the workbench around it."""

__version__ = "0.1.0"
