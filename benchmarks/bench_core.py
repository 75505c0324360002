"""Simulation speed and memory, measured in one run against baselines measured alongside.

Prints:
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


def fastsim_rate() -> float | None:
    try:
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
            }
        )
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--memory-child":
        _memory_child(int(sys.argv[2]))
    else:
        main()
