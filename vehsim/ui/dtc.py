"""The check-engine lamp and the active trouble codes, as the dashboard shows them.

The ``simulation.raw`` payload carries the engine controller's view (``mil_on``,
``dtc_confirmed``, ``dtc_pending``), so the lamp and the codes come from the same reading as the
dials, in both modes. For payloads without them, local mode reads the simulator's diagnostics
(``Simulator.dtc``) and connected mode rebuilds them from the ``diagnostic.dtc`` events of the
followed car. All end in the same :class:`DiagnosticStatus`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from vehsim.diagnostics import CODES

#: Order of the statuses on screen: confirmed codes (the ones that light the MIL) first.
_STATUS_ORDER = {"confirmed": 0, "pending": 1}


@dataclass(frozen=True)
class TroubleCode:
    """One stored code: SAE J2012 code, its description, ``"confirmed"`` or ``"pending"``."""

    code: str
    description: str
    status: str


@dataclass(frozen=True)
class DiagnosticStatus:
    """The MIL and the stored codes, confirmed first."""

    mil_on: bool = False
    codes: tuple[TroubleCode, ...] = ()


NO_CODES = DiagnosticStatus()


def describe_code(code: str) -> str:
    """The description of a known code; a code vehsim does not know is shown bare."""
    known = CODES.get(code)
    return known.description if known is not None else ""


def _ordered(codes: list[TroubleCode]) -> tuple[TroubleCode, ...]:
    return tuple(sorted(codes, key=lambda c: (_STATUS_ORDER.get(c.status, 9), c.code)))


def status_from_simulator(dtc: Mapping[str, Any]) -> DiagnosticStatus:
    """From ``Simulator.dtc(i)``: ``{"mil_on", "confirmed": [...], "pending": [...]}``."""
    codes = [
        TroubleCode(code, describe_code(code), status)
        for status in ("confirmed", "pending")
        for code in dtc.get(status, ())
    ]
    return DiagnosticStatus(bool(dtc.get("mil_on")), _ordered(codes))


def status_from_payload(payload: Mapping[str, Any]) -> DiagnosticStatus | None:
    """From a ``simulation.raw`` payload that carries the controller's view (``mil_on``,
    ``dtc_confirmed``, ``dtc_pending``); ``None`` when it does not (older producers)."""
    mil_on = payload.get("mil_on")
    confirmed = payload.get("dtc_confirmed")
    pending = payload.get("dtc_pending", [])
    if not isinstance(mil_on, bool) or not isinstance(confirmed, list):
        return None
    lists = {"confirmed": confirmed, "pending": pending if isinstance(pending, list) else []}
    return status_from_simulator(
        {"mil_on": mil_on, **{k: [c for c in v if isinstance(c, str)] for k, v in lists.items()}}
    )


def apply_dtc_event(status: DiagnosticStatus, payload: Mapping[str, Any]) -> DiagnosticStatus:
    """The status after one ``diagnostic.dtc`` payload (``vehsim.diagnostics.DtcChange``).

    ``pending`` and ``confirmed`` store the code with that status; ``cleared`` erases it;
    ``mil_off`` keeps it stored (previously active, as J1979 mode 03 still reports it). The MIL
    is what the event says it is after the change. A payload without a code, or with a status
    this version does not know, leaves the codes as they are.
    """
    code = payload.get("code")
    if not isinstance(code, str) or not code:
        return status
    codes = list(status.codes)
    kind = payload.get("status")
    if kind in ("pending", "confirmed", "cleared"):
        codes = [c for c in codes if c.code != code]
    if kind in ("pending", "confirmed"):
        description = payload.get("description")
        if not isinstance(description, str) or not description:
            description = describe_code(code)
        codes.append(TroubleCode(code, description, str(kind)))
    mil_on = payload.get("mil_on")
    return replace(
        status,
        mil_on=bool(mil_on) if isinstance(mil_on, bool) else status.mil_on,
        codes=_ordered(codes),
    )
