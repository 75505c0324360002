"""Workbench UI: live instrument cluster, driver controls, rolling charts, the Voila dashboard.

Needs the ``[ui]`` extra. Names are imported lazily, so ``vehsim dashboard`` (and ``import
vehsim``) do not pull in ipywidgets until a widget is actually built.

    >>> from vehsim.ui import Dashboard
    >>> Dashboard()            # local or connected, decided from the configuration
"""

from __future__ import annotations

from importlib import import_module

_EXPORTS = {
    "Dashboard": "vehsim.ui.dashboard",
    "InstrumentCluster": "vehsim.ui.dashboard",
    "Controls": "vehsim.ui.controls",
    "Dial": "vehsim.ui.widgets",
    "GearIndicator": "vehsim.ui.widgets",
    "WarningLights": "vehsim.ui.widgets",
    "RollingChart": "vehsim.ui.widgets",
    "StatusBar": "vehsim.ui.widgets",
    "Reading": "vehsim.ui.widgets",
    "Readout": "vehsim.ui.widgets",
    "LocalSource": "vehsim.ui.sources",
    "Sample": "vehsim.ui.sources",
    "ClusterHints": "vehsim.ui.sources",
    "TelemetrySource": "vehsim.ui.sources",
    "TripComputer": "vehsim.ui.trip",
    "live_consumption": "vehsim.ui.readings",
    "spec_sheet": "vehsim.ui.vehicles",
    "ConnectedSource": "vehsim.ui.kafka_link",
    "detect_mode": "vehsim.ui.mode",
    "open_source": "vehsim.ui.mode",
    "warning_lights": "vehsim.ui.readings",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'vehsim.ui' has no attribute {name!r}")
