"""The TelemetrySource protocol declares everything the dashboard asks of a source, and every
source (local, connected, the test stand-ins) provides it."""

from __future__ import annotations

import ast
import inspect

from vehsim.ui import dashboard
from vehsim.ui.kafka_link import ConnectedSource
from vehsim.ui.sources import LocalSource, TelemetrySource

from .fakes import FakeFleet, fake_source


def protocol_members() -> set[str]:
    members = {name for name in vars(TelemetrySource) if not name.startswith("_")}
    return members | set(TelemetrySource.__annotations__)


def test_the_dashboard_uses_only_what_the_protocol_declares():
    used = {
        node.attr
        for node in ast.walk(ast.parse(inspect.getsource(dashboard)))
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "source"
        and isinstance(node.value.value, ast.Name)
        and node.value.value.id == "self"
    }
    assert used, "the scan found no use of self.source"
    undeclared = used - protocol_members() - {"advance"}  # advance: run_for, local mode only
    assert not undeclared, f"the dashboard uses undeclared source members: {sorted(undeclared)}"
    assert "getattr(self.source" not in inspect.getsource(dashboard)


def test_every_source_provides_the_protocol():
    assert isinstance(fake_source(), TelemetrySource)
    assert isinstance(LocalSource("compact-sedan"), TelemetrySource)
    assert isinstance(FakeFleet(), TelemetrySource)
    # ConnectedSource needs a broker to construct; its class and __init__ must still provide all
    init = inspect.getsource(ConnectedSource.__init__)
    for name in protocol_members():
        assert hasattr(ConnectedSource, name) or f"self.{name} =" in init, name
