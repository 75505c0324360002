"""Diagnostic window features: what a telematics unit reading the car's OBD port adds to the
``simulation.raw`` telemetry, over the same one-minute windows as :mod:`vehsim.features`.

One definition for both paths that compute them, so a fault model trained on one can be applied
to the other:

- the sweeps (``vehsim_pipelines.sweep``): channels from the kernel's 1 Hz state records;
- live scoring (``vehsim score``): channels from the ``simulation.raw`` payload
  (:func:`payload_channels`), whose controller fields carry the same readings (the coolant and
  speed sensors, fuel trim, the misfire counter, the gearbox input speed, the lock-up state, the
  calculated load and the driver's torque demand, SAE J1979 PIDs 04, 61 and 62).

A window is the :data:`WINDOW_S` samples, :data:`SAMPLE_S` apart, up to its end; the sample
before it anchors the increments of counters (fuel, misfires, pad wear) and the coolant's rise.
Pure NumPy functions: no Spark or MLflow.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from vehsim.features import WINDOW_S

#: Spacing of a window's samples [s]: the live path's 1 Hz telemetry, the sweeps' records.
SAMPLE_S = 1.0

#: Speed above which the speed signal must not read zero [km/h], and what counts as zero.
VSS_CHECK_KPH = 10.0
VSS_ZERO_KPH = 1.0
#: Coasting (no pedal) above this speed measures the car's drag [km/h].
COAST_MIN_KPH = 20.0
#: Pedal below which a pedal counts as released [%].
PEDAL_RELEASED_PCT = 1.0
#: Pedal above which the engine counts as at full load [%].
FULL_THROTTLE_PCT = 90.0
#: Speed above which the air stream, not the fan, cools the radiator [km/h].
MOVING_KPH = 50.0
#: Pedal above which the gearbox's slip is measured [%] (the gear-ratio monitor's 10 %).
SLIP_MIN_THROTTLE_PCT = 10.0

#: Diagnostic window features -> definition (unit in the name): what a telematics unit reading
#: the car's OBD port adds to the ``simulation.raw`` telemetry (``vehsim.features`` has the
#: rest). Means are over the window's samples; NaN where the condition never held.
DIAGNOSTIC_FEATURES: dict[str, str] = {
    "coolant_sensor_c_mean": "mean coolant temperature as its sensor reads [°C]",
    "coolant_sensor_c_min": "lowest coolant sensor reading [°C]",
    "coolant_sensor_c_max": "highest coolant sensor reading [°C]",
    "coolant_sensor_c_rise": "coolant reading at the window's last sample minus the one before "
    "the window [K]",
    "coolant_sensor_c_travel": "sum of the coolant reading's absolute changes [K]",
    "coolant_sensor_over_ambient_c": "mean coolant reading above ambient [K]",
    "oil_over_coolant_sensor_c": "mean oil temperature above the coolant reading [K]",
    "fan_on_frac": "share of samples with the radiator fan on [-]",
    "fuel_trim_pct_mean": "mean closed-loop fuel trim [%]",
    "fuel_trim_pct_max": "highest fuel trim [%]",
    "misfires_per_1000_rev": "misfires counted per 1000 crankshaft revolutions [-]",
    "fuel_l_per_kwh": "fuel over the engine's positive work [L/kWh] (unknown below 1 Wh)",
    "gear_slip_frac_mean": "mean engine speed over gearbox input speed, minus 1, in gear "
    "with the pedal above 10 % [-]",
    "gear_slip_frac_max": "highest such slip [-]",
    "speed_signal_dropout_frac": "share of samples above 10 km/h whose speed signal reads "
    "below 1 km/h [-]",
    "speed_signal_error_kph_mean": "mean speed signal minus speed [km/h]",
    "coast_accel_mps2_mean": "mean acceleration with no pedal above 20 km/h [m/s²]",
    "full_throttle_load_frac_mean": "mean calculated load (torque over the healthy full-load "
    "torque at that speed, J1979 PID 04) with the pedal above 90 % and the engine above half "
    "its maximum speed [-]",
    "pad_wear_released_pct_per_h": "brake-pad life used while the brake pedal is released, per "
    "hour of such samples [%/h]",
    "coolant_sensor_c_rise_fan_on_per_min": "coolant reading's change over samples with the fan "
    "on, per minute of them [K/min]",
    "coolant_sensor_c_moving_mean": "mean coolant reading above 50 km/h [°C]",
    "full_load_torque_achieved_frac": "mean engine torque over the torque the pedal asks of the "
    "healthy engine at that speed (J1979 PID 62 over PID 61: pedal times the healthy full-load "
    "torque), with the pedal above 90 % and the engine above half its maximum speed [-]",
    "full_load_torque_loss_per_speed_sq": "least-squares slope, through the origin, of the "
    "torque shortfall (1 - achieved over asked) against the square of engine speed over rated "
    "speed, on the same samples [-]: an intake restriction's pressure drop, and so its loss, "
    "grows with the square of the air flow (ORNL/TM-2009/021)",
}

#: Channels :func:`diagnostic_features` reads, each ``[n_drives, n_samples]``.
CHANNELS: tuple[str, ...] = (
    "engine_load_frac",
    "engine_demand_torque_nm",
    "engine_rpm_frac_of_max",
    "engine_rpm_frac_of_rated",
    "brake_pad_wear_pct",
    "engine_on",
    "engine_rpm",
    "vehicle_speed_kph",
    "speed_sensor_kph",
    "accel_mps2",
    "throttle_pct",
    "brake_pct",
    "coolant_sensor_temp_c",
    "oil_temp_c",
    "fan_on",
    "fuel_used_l",
    "fuel_trim_pct",
    "misfire_count",
    "engine_torque_nm",
    "gearbox_input_rpm",
    "driveline_locked",
    "ambient_temp_c",
)
#: Channels computed from the payload rather than carried in it: the load from its percentage,
#: the engine speed's shares from the vehicle's rated and highest speed.
_DERIVED_CHANNELS = ("engine_load_frac", "engine_rpm_frac_of_max", "engine_rpm_frac_of_rated")
#: ``simulation.raw`` payload fields :func:`payload_channels` reads (``vehsim.telemetry``): the
#: calculated load in per cent, and every other channel under its own name and unit.
PAYLOAD_FIELDS: tuple[str, ...] = (
    "engine_load_pct",
    *(c for c in CHANNELS if c not in _DERIVED_CHANNELS),
)


def controller_load(
    torque_nm: np.ndarray, throttle_frac: np.ndarray, full_load_nm: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """What the engine controller reports of its load, from the healthy engine's full-load
    torque at the current speed (0 where the engine is off): the calculated load (SAE J1979
    PID 04, brake torque over full-load torque, a torque proxy for airflow over peak airflow)
    [-] and the driver's demand (PID 61: the torque the pedal asks, pedal times full-load
    torque) [N m]. ``Simulator.snapshot`` (live) and the sweeps (records) both use it."""
    torque_nm, full_load_nm = np.asarray(torque_nm, float), np.asarray(full_load_nm, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        load = np.where(full_load_nm > 0, np.clip(torque_nm / full_load_nm, 0.0, 1.0), 0.0)
    return load, np.asarray(throttle_frac, float) * full_load_nm


def payload_channels(
    fields: Mapping[str, np.ndarray], rated_speed_rpm: np.ndarray, max_speed_rpm: np.ndarray
) -> dict[str, np.ndarray]:
    """The :data:`CHANNELS` of telemetry in ``simulation.raw`` payload names and units.

    Args:
        fields: every name of :data:`PAYLOAD_FIELDS` -> ``[n_drives, n_samples]``.
        rated_speed_rpm, max_speed_rpm: per drive, the engine's rated and highest speed (the
            vehicle's parameters; NaN when unknown, which leaves the full-load features NaN).
    """
    f = {name: np.asarray(fields[name], dtype=float) for name in PAYLOAD_FIELDS}
    rated = np.asarray(rated_speed_rpm, dtype=float)[:, None]
    highest = np.asarray(max_speed_rpm, dtype=float)[:, None]
    out = {name: f[name] for name in CHANNELS if name not in _DERIVED_CHANNELS}
    out["engine_load_frac"] = f["engine_load_pct"] / 100.0
    out["engine_rpm_frac_of_max"] = f["engine_rpm"] / highest
    out["engine_rpm_frac_of_rated"] = f["engine_rpm"] / rated
    out["engine_on"] = f["engine_on"] > 0.5
    out["driveline_locked"] = f["driveline_locked"] > 0.5
    return out


def windows(values: np.ndarray, ends: np.ndarray, width: int = WINDOW_S) -> np.ndarray:
    """``[n_vehicles, n_samples]`` -> ``[n_vehicles, n_windows, width]``: the ``width`` samples
    ending at each of ``ends``, as a contiguous copy (reductions over the last axis then run the
    same way for every window)."""
    offsets = ends[:, None] - np.arange(width - 1, -1, -1)[None, :]
    return np.ascontiguousarray(np.asarray(values, dtype=float)[:, offsets])


def diagnostic_features(channels: Mapping[str, np.ndarray], ends: np.ndarray):
    """:data:`DIAGNOSTIC_FEATURES` of the windows ending at ``ends`` of every drive.

    Args:
        channels: every name of :data:`CHANNELS` -> ``[n_drives, n_samples]`` (from
            :func:`payload_channels`, or from the kernel's state records in the sweeps).
        ends: sample index of each window's last sample, at least :data:`WINDOW_S`.

    Returns:
        name -> ``[n_drives, n_windows]``.
    """

    def w(name_or_values) -> np.ndarray:
        values = channels[name_or_values] if isinstance(name_or_values, str) else name_or_values
        return windows(values, ends)

    def growth(name: str) -> np.ndarray:
        """Increments of a counter over each window (the sample before it anchors the first)."""
        anchored = windows(channels[name], ends, WINDOW_S + 1)
        return np.maximum(np.diff(anchored, axis=2), 0.0)

    def mean(x: np.ndarray, where: np.ndarray | None = None) -> np.ndarray:
        if where is not None:
            x = np.where(where, x, np.nan)
        with _quiet():
            return np.nanmean(x, axis=2)

    def extreme(x: np.ndarray, how) -> np.ndarray:
        with _quiet():
            return how(x, axis=2)

    rpm = np.asarray(channels["engine_rpm"])
    throttle = np.asarray(channels["throttle_pct"])
    speed = np.asarray(channels["vehicle_speed_kph"])
    input_rpm = np.asarray(channels["gearbox_input_rpm"])
    coolant = w("coolant_sensor_temp_c")
    anchored_coolant = windows(channels["coolant_sensor_temp_c"], ends, WINDOW_S + 1)
    # Positive engine work [kWh] and crankshaft revolutions of each 1 s sample.
    work_kwh = (
        (np.maximum(channels["engine_torque_nm"], 0.0) * rpm * (2.0 * math.pi / 60.0))
        * SAMPLE_S
        / 3.6e6
    )
    revolutions = rpm * SAMPLE_S / 60.0
    fuel_l = growth("fuel_used_l").sum(axis=2)
    work = w(work_kwh).sum(axis=2)
    revs = w(revolutions).sum(axis=2)
    misfires = growth("misfire_count").sum(axis=2)
    loaded = (
        np.asarray(channels["driveline_locked"])
        & (throttle > SLIP_MIN_THROTTLE_PCT)
        & (input_rpm > 0.0)
        & np.asarray(channels["engine_on"])
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        slip = np.where(loaded, rpm / input_rpm - 1.0, np.nan)
        fuel_per_kwh = np.where(work >= 1e-3, fuel_l / work, np.nan)
        misfire_rate = np.where(revs >= 1.0, misfires / revs * 1000.0, np.nan)
    moving = speed > VSS_CHECK_KPH
    dropout = np.where(moving, (channels["speed_sensor_kph"] < VSS_ZERO_KPH).astype(float), np.nan)
    coasting = (
        (throttle < PEDAL_RELEASED_PCT)
        & (np.asarray(channels["brake_pct"]) < PEDAL_RELEASED_PCT)
        & (speed > COAST_MIN_KPH)
    )
    wot = (throttle > FULL_THROTTLE_PCT) & (np.asarray(channels["engine_rpm_frac_of_max"]) > 0.5)
    demand = np.asarray(channels["engine_demand_torque_nm"])
    asked = wot & (demand > 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        achieved = np.where(asked, np.asarray(channels["engine_torque_nm"]) / demand, np.nan)
    speed_sq = np.where(asked, np.asarray(channels["engine_rpm_frac_of_rated"]) ** 2, np.nan)
    shortfall_w, speed_sq_w = w(1.0 - achieved), w(speed_sq)
    with _quiet(), np.errstate(divide="ignore", invalid="ignore"):
        loss_slope = np.nansum(shortfall_w * speed_sq_w, axis=2) / np.nansum(speed_sq_w**2, axis=2)
    loss_slope = np.where(np.isfinite(speed_sq_w).any(axis=2), loss_slope, np.nan)
    released = np.asarray(channels["brake_pct"]) < PEDAL_RELEASED_PCT
    pad_wear = growth("brake_pad_wear_pct")
    released_w = w(released.astype(float))
    fan_w = w("fan_on")
    coolant_step = np.diff(anchored_coolant, axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        pad_released = np.where(
            released_w.sum(axis=2) >= 1,
            (pad_wear * released_w).sum(axis=2) / (released_w.sum(axis=2) * SAMPLE_S) * 3600.0,
            np.nan,
        )
        fan_rise = np.where(
            fan_w.sum(axis=2) >= 1,
            (coolant_step * fan_w).sum(axis=2) / (fan_w.sum(axis=2) * SAMPLE_S) * 60.0,
            np.nan,
        )
    features = {
        "coolant_sensor_c_mean": mean(coolant),
        "coolant_sensor_c_min": extreme(coolant, np.nanmin),
        "coolant_sensor_c_max": extreme(coolant, np.nanmax),
        "coolant_sensor_c_rise": anchored_coolant[:, :, -1] - anchored_coolant[:, :, 0],
        "coolant_sensor_c_travel": np.abs(np.diff(anchored_coolant, axis=2)).sum(axis=2),
        "coolant_sensor_over_ambient_c": mean(coolant - w("ambient_temp_c")),
        "oil_over_coolant_sensor_c": mean(w("oil_temp_c") - coolant),
        "fan_on_frac": mean(w("fan_on")),
        "fuel_trim_pct_mean": mean(w("fuel_trim_pct")),
        "fuel_trim_pct_max": extreme(w("fuel_trim_pct"), np.nanmax),
        "misfires_per_1000_rev": misfire_rate,
        "fuel_l_per_kwh": fuel_per_kwh,
        "gear_slip_frac_mean": mean(w(slip)),
        "gear_slip_frac_max": extreme(w(slip), np.nanmax),
        "speed_signal_dropout_frac": mean(w(dropout)),
        "speed_signal_error_kph_mean": mean(w("speed_sensor_kph") - w("vehicle_speed_kph")),
        "coast_accel_mps2_mean": mean(w("accel_mps2"), w(coasting) > 0.5),
        "full_throttle_load_frac_mean": mean(w("engine_load_frac"), w(wot) > 0.5),
        "pad_wear_released_pct_per_h": pad_released,
        "coolant_sensor_c_rise_fan_on_per_min": fan_rise,
        "coolant_sensor_c_moving_mean": mean(coolant, w(speed > MOVING_KPH) > 0.5),
        "full_load_torque_achieved_frac": mean(w(achieved)),
        "full_load_torque_loss_per_speed_sq": loss_slope,
    }
    return {k: np.asarray(v, dtype=float) for k, v in features.items()}


class _quiet:
    """Silence NumPy's "mean of empty slice" warnings (an all-NaN window is unknown, not wrong)."""

    def __enter__(self):
        import warnings

        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        self._catch.__exit__(*exc)
        return False
