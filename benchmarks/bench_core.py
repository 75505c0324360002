"""Simulation speed and memory, measured in one run against baselines measured alongside.

Prints:
- the compiled kernel alone (``vehsim.kernel.run_fleet`` on a prepared simulator's arrays) for
  one car (dt_s = 0.01, UDDS, 1 Hz records), next to ``vehsim.simulate`` on the same car, whose
  difference is what the library adds around the kernel (on-board diagnostics over the records,
  summaries). The staged kernel was measured against the one-function kernel it replaced before
  that one was dropped (README, "Performance");
- single car, dt_s = 0.01, UDDS: simulated seconds per wall second (target >= 500);
- fleet of 1,000 cars, dt_s = 0.1, UDDS: vehicle-simulated seconds per wall second, and the ratio
  to FASTSim 3.1.0 (2012 Ford Fusion, UDDS at its native 1 Hz, history off) measured here
  (target >= 10x);
- peak memory (max RSS) of a process that runs a 10,000-car fleet over UDDS with summary-only
  output, next to the RSS of the same process before the run (target <= 2 GiB).
Nothing here is asserted: the numbers are for people and CI logs.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

import vehsim
from vehsim import kernel

UDDS_S = 1369.0


def best_of(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def single_car() -> float:
    params = vehsim.load_vehicle("compact-suv")
    vehsim.simulate(params, "udds", dt_s=0.01)  # compile / load cache
    wall = best_of(lambda: vehsim.simulate(params, "udds", dt_s=0.01, record_every_s=1.0), 3)
    return UDDS_S / wall


def fleet(n: int = 1000) -> float:
    shipped = [vehsim.load_vehicle(name) for name in vehsim.list_vehicles()]
    vehicles = [shipped[i % len(shipped)] for i in range(n)]
    vehsim.simulate_fleet(vehicles[:2], "udds", dt_s=0.1)
    wall = best_of(lambda: vehsim.simulate_fleet(vehicles, "udds", dt_s=0.1), 2)
    return n * UDDS_S / wall


def _fleet_of(n: int) -> list:
    """The single-car benchmark's car, or ``n`` cars cycling through the shipped vehicles."""
    if n == 1:
        return [vehsim.load_vehicle("compact-suv")]
    shipped = [vehsim.load_vehicle(name) for name in vehsim.list_vehicles()]
    return [shipped[i % len(shipped)] for i in range(n)]


def _kernel_times_s(run_fleet, vehicles: list, dt_s: float, record_every: int) -> tuple:
    """Wall and CPU time of one UDDS run of ``vehicles`` by ``run_fleet`` (a fresh simulator)."""
    sim = vehsim.Simulator(vehicles, dt_s=dt_s, start="cold")
    sim.set_driver(slice(None), "cycle:udds")
    n = len(vehicles)
    n_steps = int(round(UDDS_S / dt_s))
    records = kernel.empty_records(n_steps // record_every if record_every else 0, n)
    args = (sim.state, sim.inputs, sim.params, sim.ratios, sim.curve_rpm, sim.curve_nm)
    cycles = (sim.n_curve, sim._cycle_speed, sim._cycle_grade, sim._cycle_len, sim.rng)
    t0, c0 = time.perf_counter(), time.process_time()
    run_fleet(*args, *cycles, dt_s, n_steps, record_every, records)
    return time.perf_counter() - t0, time.process_time() - c0


def kernel_only_single_car(repeats: int = 5) -> float:
    """The kernel's own rate for the single-car case [simulated s per wall s]."""
    vehicles = _fleet_of(1)
    _kernel_times_s(kernel.run_fleet, vehicles, 0.01, 100)  # compile or load from cache
    wall = min(_kernel_times_s(kernel.run_fleet, vehicles, 0.01, 100)[0] for _ in range(repeats))
    return UDDS_S / wall


def fastsim_rate() -> float | None:
    try:  # local: FASTSim is an optional baseline, not a dependency
        import fastsim as fsim
    except ImportError:
        return None
    veh = fsim.Vehicle.from_resource("2012_Ford_Fusion.yaml")
    veh.set_save_interval(None)
    cyc = fsim.Cycle.from_resource("udds.csv")

    def run():
        fsim.SimDrive(veh, cyc).walk()

    run()
    wall = best_of(lambda: [run() for _ in range(10)], 3) / 10
    return UDDS_S / wall


def _memory_child(n: int) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    shipped = [vehsim.load_vehicle(name) for name in vehsim.list_vehicles()]
    vehicles = [shipped[i % len(shipped)] for i in range(n)]
    summary = vehsim.simulate_fleet(vehicles, "udds", dt_s=0.1)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rss_before_kib": before, "rss_peak_kib": after, "rows": len(summary)}))


def memory(n: int = 10_000) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--memory-child", str(n)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    single = single_car()
    print(
        f"single car, dt 0.01 s, UDDS: {single:,.0f} simulated s per wall s (target >= 500; "
        f"{single / 500:.1f}x target)"
    )
    bare = kernel_only_single_car()
    print(
        f"  the kernel alone on the same car: {bare:,.0f} simulated s per wall s "
        f"(vehsim.simulate / kernel: {single / bare:.2f})"
    )
    fleet_rate = fleet()
    fs = fastsim_rate()
    print(f"fleet of 1,000, dt 0.1 s, UDDS: {fleet_rate:,.0f} vehicle-simulated s per wall s")
    if fs:
        print(f"FASTSim 3.1.0, 1 Hz, UDDS, same machine now: {fs:,.0f} simulated s per wall s")
        print(f"ratio vehsim fleet / FASTSim: {fleet_rate / fs:.1f}x (target >= 10x)")
    mem = memory()
    peak_mib = mem["rss_peak_kib"] / 1024
    print(
        f"10,000-car fleet over UDDS, summary only: peak RSS {peak_mib:,.0f} MiB "
        f"(process before the run: {mem['rss_before_kib'] / 1024:,.0f} MiB; target <= 2048 MiB)"
    )
    print(
        json.dumps(
            {
                "single_car_sim_s_per_wall_s": round(single),
                "fleet_1000_vehicle_s_per_wall_s": round(fleet_rate),
                "fastsim_sim_s_per_wall_s": round(fs) if fs else None,
                "fleet_over_fastsim": round(fleet_rate / fs, 2) if fs else None,
                "fleet_10000_peak_rss_mib": round(peak_mib),
                "kernel_only_single_car_sim_s_per_wall_s": round(bare),
            }
        )
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--memory-child":
        _memory_child(int(sys.argv[2]))
    else:
        main()
