"""Energy audit of a run: where the fuel's chemical energy went, stage by stage, closing to zero.

The kernel keeps running totals of every energy flow in the state (``layout.ENERGY_STATE_COLUMNS``):
the engine's indicated, friction and pumping work (``engine.fuel_stage``), the accessories' work
and the net work into the driveline (``engine.output_stage``), the tyres' work on the road and
each force's share of it (``road_load.motion_stage``). The audit turns the change of those
totals over a run into a chain of stages and the losses between them::

    fuel (chemical, lower heating value)
      - combustion heat (exhaust and coolant; cold enrichment and unburned fuel included)
    = indicated work
      - friction, - pumping
    = brake work
      - accessories (alternator, pumps), - climate control (A/C compressor and blower)
      + a mild hybrid's machine at the crank (braking energy given back)
    = engine output into the driveline
      - driveline (converter and clutch slip, gear mesh and spin losses, shift torque dips,
        and the engine's inertia as the driveline couples and lets go of it)
    = work at the tyres
      = aerodynamic drag + rolling resistance + grade (negative downhill) + friction brakes
        + braking taken by a mild hybrid's machine + kinetic energy still in the car at the end

A mild hybrid's braking energy leaves the chain at the wheels and returns at the crank; what it
loses on the way (driveline, machine, battery) and the change of the battery's charge over the
run make the ``hybrid_j`` loss (``physics/hybrid.py``; zero without the machine).

Two balances are measured, not defined: the engine's (indicated - friction - pumping against
accessories + output, from mean effective pressures on one side and torques on the other) and the
wheels' (tyre work against the forces' work and the kinetic energy). The ``residual`` is what
the chain leaves unexplained; :func:`closure_error_frac` is it as a share of the fuel energy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from vehsim.cycles import Cycle, load_cycle
from vehsim.layout import P, S
from vehsim.params import VehicleParams, load_vehicle
from vehsim.simulator import Simulator

#: The losses of the chain, in order from the fuel to the road, with their plot labels.
LOSSES: tuple[tuple[str, str], ...] = (
    ("combustion_loss_j", "combustion heat"),
    ("friction_j", "engine friction"),
    ("pumping_j", "pumping"),
    ("accessories_j", "accessories"),
    ("climate_j", "climate control"),
    ("driveline_j", "driveline"),
    ("aero_j", "aerodynamic drag"),
    ("rolling_j", "rolling resistance"),
    ("grade_j", "grade"),
    ("brakes_j", "brakes"),
    ("hybrid_j", "mild hybrid (losses, change of charge)"),
    ("kinetic_j", "kinetic (left in the car)"),
)
#: The stages of the chain [J].
STAGES: tuple[str, ...] = ("fuel_j", "indicated_j", "brake_j", "engine_out_j", "wheel_j")


def _delta(final: np.ndarray, initial: np.ndarray, name: str) -> float:
    return float(final[S[name]] - initial[S[name]])


def energy_audit(
    final: np.ndarray, initial: np.ndarray, params_row: np.ndarray
) -> dict[str, float]:
    """The energy audit of one vehicle between two of its state rows [J].

    Args:
        final, initial: the vehicle's state rows (``Simulator.state[i]``) at the end and the
            start of the run.
        params_row: its parameter row (``Simulator.params[i]``), for the split of accessory work
            between the belt and electrical accessories and the climate control, and for the
            kinetic energy left in the car.

    Returns:
        The stages (:data:`STAGES`), the losses (:data:`LOSSES`), the engine's and the wheels'
        balance errors and the ``residual_j`` of the whole chain, all in joules.
    """
    fuel = _delta(final, initial, "fuel_energy_j")
    indicated = _delta(final, initial, "indicated_work_j")
    friction = _delta(final, initial, "friction_work_j")
    pumping = _delta(final, initial, "pumping_work_j")
    accessory_total = _delta(final, initial, "accessory_work_j")
    engine_out = _delta(final, initial, "engine_out_work_j")
    wheel = _delta(final, initial, "drive_work_j")
    aero = _delta(final, initial, "aero_work_j")
    rolling = _delta(final, initial, "rolling_work_j")
    grade = _delta(final, initial, "grade_work_j")
    brakes = _delta(final, initial, "service_brake_work_j")
    kinetic_steps = _delta(final, initial, "kinetic_work_j")
    regen = _delta(final, initial, "bsg_regen_work_j")
    assist = _delta(final, initial, "bsg_assist_work_j")

    # Both accessory loads are constant powers drawn while the engine turns: split in proportion.
    base_w = float(params_row[P["accessory_power_w"]])
    climate_w = float(params_row[P["climate_power_w"]])
    climate_share = climate_w / (base_w + climate_w) if base_w + climate_w > 0 else 0.0
    climate = accessory_total * climate_share
    # Kinetic energy in the car at the end against the start (translating and rotating parts,
    # with the wheels' and driveline's share ``rotating_mass_frac``). The steps' sum differs from
    # it by the engine's inertia, which joins the car's mass while the driveline is locked: the
    # converter or clutch dissipates it as they couple and let go, a driveline loss.
    mass_eff = float(params_row[P["mass_kg"]]) * (1.0 + float(params_row[P["rotating_mass_frac"]]))
    v_end, v_start = float(final[S["speed_mps"]]), float(initial[S["speed_mps"]])
    kinetic = 0.5 * mass_eff * (v_end * v_end - v_start * v_start)
    driveline = engine_out - wheel + (kinetic_steps - kinetic)

    out = {
        "fuel_j": fuel,
        "indicated_j": indicated,
        "brake_j": indicated - friction - pumping,
        "engine_out_j": engine_out,
        "wheel_j": wheel,
        "combustion_loss_j": fuel - indicated,
        "friction_j": friction,
        "pumping_j": pumping,
        "accessories_j": accessory_total - climate,
        "climate_j": climate,
        "driveline_j": driveline,
        "aero_j": aero,
        "rolling_j": rolling,
        "grade_j": grade,
        "brakes_j": brakes - regen,
        "hybrid_j": regen - assist,
        "kinetic_j": kinetic,
        # measured balances: MEPs against torques, tyre work against the forces
        "engine_balance_j": indicated - friction - pumping + assist - accessory_total - engine_out,
        "wheel_balance_j": wheel - aero - rolling - grade - brakes - kinetic_steps,
    }
    out["residual_j"] = fuel - sum(out[key] for key, _ in LOSSES)
    return out


def closure_error_frac(audit: Mapping[str, float]) -> float:
    """How much of the fuel energy the chain leaves unexplained, as a share [-] (0 when closed)."""
    fuel = audit["fuel_j"]
    return abs(audit["residual_j"]) / fuel if fuel > 0 else 0.0


def audit_frame(
    final: np.ndarray, initial: np.ndarray, params: np.ndarray, labels: Sequence[str] | None = None
) -> pd.DataFrame:
    """The audits of every vehicle of a fleet (rows of ``final``/``initial``/``params``) [J]."""
    rows = [energy_audit(final[i], initial[i], params[i]) for i in range(len(final))]
    frame = pd.DataFrame(rows)
    if labels is not None:
        frame.insert(0, "run", list(labels))
    return frame


def audit_run(vehicle, cycle, dt_s: float = 0.1, **simulator_kwargs) -> dict[str, float]:
    """Drive one vehicle over one cycle (as :func:`vehsim.simulate_fleet`) and audit the run.

    ``vehicle`` is a :class:`vehsim.VehicleParams` or a shipped vehicle's name, ``cycle`` a
    :class:`vehsim.Cycle` or a cycle's name; other keywords go to :class:`vehsim.Simulator`
    (``ambient_temp_c``, ``start``, ``solar_load_wpm2`` ...).
    """
    params = vehicle if isinstance(vehicle, VehicleParams) else load_vehicle(vehicle)
    cycle = cycle if isinstance(cycle, Cycle) else load_cycle(cycle)
    simulator_kwargs.setdefault("start", "cold")
    sim = Simulator([params], dt_s=dt_s, **simulator_kwargs)
    sim.set_driver(0, cycle)
    initial = sim.state[0].copy()
    sim.run_steps(int(round(cycle.duration_s / dt_s)))
    return {
        "vehicle": params.name,
        "cycle": cycle.name,
        **energy_audit(sim.state[0], initial, sim.params[0]),
    }


def plot_energy_audit(
    audits: pd.DataFrame, label: str = "run", path: str | Path | None = None, share: bool = True
):
    """Stacked bars: where each run's fuel energy went, one bar per row of ``audits``.

    Args:
        audits: rows of :func:`energy_audit` (``audit_frame``, or a study's audit columns).
        label: the column that names each bar.
        share: bars in % of the fuel energy (default) or in MJ.
    """
    from vehsim.plots import _pyplot

    plt = _pyplot()
    n = len(audits)
    fig, ax = plt.subplots(figsize=(11, 1.0 + 0.55 * n), constrained_layout=True)
    scale = (100.0 / audits["fuel_j"]).to_numpy() if share else np.full(n, 1e-6)
    left = np.zeros(n)
    cmap = plt.get_cmap("tab20")
    y = np.arange(n)
    for k, (key, name) in enumerate(LOSSES):
        width = audits[key].to_numpy() * scale
        # Negative flows (downhill grade, kinetic energy given back) start left of zero.
        ax.barh(y, np.where(width > 0, width, 0.0), left=left, color=cmap(k), label=name)
        left = left + np.where(width > 0, width, 0.0)
        if np.any(width < 0):
            ax.barh(y, np.where(width < 0, width, 0.0), color=cmap(k), hatch="//")
    ax.set_yticks(y, audits[label].astype(str) if label in audits else [str(i) for i in y])
    ax.invert_yaxis()
    ax.set_xlabel("share of fuel energy [%]" if share else "energy [MJ]")
    ax.set_title("Energy audit: fuel chemical energy by where it ends")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="small")
    ax.grid(axis="x", alpha=0.3)
    if path is not None:
        fig.savefig(path, dpi=110)
        plt.close(fig)
    return fig


__all__ = [
    "LOSSES",
    "STAGES",
    "energy_audit",
    "closure_error_frac",
    "audit_frame",
    "audit_run",
    "plot_energy_audit",
]
