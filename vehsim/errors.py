"""Exceptions with messages that name what is wrong and what is allowed."""


class VehsimError(Exception):
    """Base class for every error vehsim raises on bad input or configuration.

    ``exit_code`` is what the command line exits with: 2 for bad input (the default), 1 for a
    run that failed on its way (:class:`RunFailure`).
    """

    exit_code = 2


class RunFailure(VehsimError):
    """The input was fine but the run could not finish: a service unreachable or failing, data
    that moved under the job. The command line exits with 1."""

    exit_code = 1


class ConfigError(VehsimError):
    """A configuration value is missing or invalid."""


class ParameterError(VehsimError, ValueError):
    """A vehicle or map file has a missing, mistyped or physically impossible field."""


class CycleError(VehsimError, ValueError):
    """A drive cycle is unknown or malformed."""


class CommandError(VehsimError, ValueError):
    """A driver command is malformed or out of range."""

    def __init__(self, message: str, *, field: str | None = None, reason: str = "invalid"):
        super().__init__(message)
        self.field = field
        self.reason = reason


class BrokerError(RunFailure):
    """The Kafka broker could not be started, found or reached."""
