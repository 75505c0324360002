"""Silver → Gold: per-minute aggregates, trips and ML features. Pure DataFrame transforms.

Every quantity that accumulates (fuel, distance, wear, time) is first turned into a per-event
increment: the difference to the previous event of the same vehicle and run (by ``seq``), so
the increment of the interval *ending* at an event belongs to that event's window. Summing the
increments of every window of a run therefore gives exactly the run's totals, whatever the
windowing. The definitions are documented in ``docs/lakehouse.md``.

Event time is the simulation's clock (``sim_clock_utc``: run start + simulated time) when events
carry it, else ``emitted_at`` (UTC); windows are one minute long, aligned to the minute.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from vehsim import events
from vehsim_pipelines.schemas import parse_utc

#: Length of a Gold window [s].
WINDOW_S = 60
#: Harsh acceleration threshold, 0.3 g [m/s²] (a common telematics/insurance threshold).
HARSH_ACCEL_MPS2 = 2.94
#: Harsh braking threshold, -0.4 g [m/s²].
HARSH_BRAKE_MPS2 = -3.92
#: Coolant temperature below which a running engine counts as cold [°C].
COLD_COOLANT_C = 70.0
#: Below this speed the vehicle counts as stopped [km/h].
STOPPED_KPH = 1.0
#: Minimum distance for a consumption or per-distance wear figure to be reported [km].
MIN_DISTANCE_KM = 0.1
#: Minimum duration for a feature row to be a valid training example [s].
MIN_DURATION_S = 30.0
#: Harsh events per 100 km separating the calm / moderate / aggressive driving styles.
STYLE_LIMITS_PER_100KM = (5.0, 20.0)

#: Key of ``gold/vehicle_minute`` and ``gold/features``.
WINDOW_KEYS = ("vehicle_id", "run_id", "window_start")
#: Key of ``gold/trips``.
TRIP_KEYS = ("vehicle_id", "run_id")

_WEAR_FIELDS = ("engine_wear_pct", "gearbox_wear_pct", "brake_pad_wear_pct", "tyre_wear_pct")

#: The ``silver/telemetry`` columns the Gold transforms read. The Gold job reads only these:
#: the window shuffle then moves a third less data than whole Silver rows would.
INPUT_COLUMNS = (
    *TRIP_KEYS,
    "seq",
    "sim_time_s",
    "emitted_at",
    "sim_clock_utc",
    "engine_on",
    "engine_rpm",
    "vehicle_speed_kph",
    "accel_mps2",
    "gear",
    "throttle_pct",
    "brake_pct",
    "coolant_temp_c",
    "oil_temp_c",
    "ambient_temp_c",
    "road_grade_pct",
    "fuel_used_l",
    "odometer_km",
    *_WEAR_FIELDS,
    "oil_life_pct",
    "vehicle_model",
    "driver_mode",
    "bronze_version",
)


def _gears() -> range:
    low, high = events.PAYLOAD_RANGES["gear"]
    return range(int(low), int(high) + 1)


def _gear_label(gear: int) -> str:
    return {-1: "r", 0: "n"}.get(gear, str(gear))


def gear_column(gear: int) -> str:
    """Name of the time-in-gear column of ``gear`` (-1 reverse ``r``, 0 neutral ``n``)."""
    return f"time_gear_{_gear_label(gear)}_s"


def event_time(telemetry: DataFrame) -> Column:
    """Event time of a telemetry row: the simulation's clock when the event carries it
    (``sim_clock_utc``, run start + simulated time, so a sped-up run still spans its simulated
    minutes), else ``emitted_at``."""
    if "sim_clock_utc" not in telemetry.columns:
        return F.col("emitted_at")
    return F.coalesce(parse_utc(F.col("sim_clock_utc")), F.col("emitted_at"))


def window_start(telemetry: DataFrame) -> Column:
    """Start of the one-minute event-time window a telemetry row falls in."""
    return F.date_trunc("minute", event_time(telemetry))


def with_increments(telemetry: DataFrame) -> DataFrame:
    """Add per-event increments (``dt_s``, ``fuel_l``, ``distance_km``, wear, ...) and flags.

    Args:
        telemetry: ``silver/telemetry`` rows (any subset of whole runs).

    Returns:
        The input plus: ``window_start``, ``dt_s``, ``d_fuel_l``, ``d_distance_km``,
        ``d_<wear>`` for every wear field, ``d_oil_life_used_pct``, ``prev_gear``, ``accel_est_mps2``,
        ``harsh_accel``/``harsh_brake`` (1 on the first event of an episode), ``idle``,
        ``cold``, ``stop`` (1 where the vehicle comes to a halt).
    """
    w = Window.partitionBy("vehicle_id", "run_id").orderBy("seq")

    def increment(col: str) -> Column:
        return F.greatest(F.col(col) - F.lag(col).over(w), F.lit(0.0))

    dt_s = F.coalesce(increment("sim_time_s"), F.lit(0.0))
    df = telemetry.withColumn("dt_s", dt_s)
    speed_mps = F.col("vehicle_speed_kph") / 3.6
    derived_accel = (speed_mps - F.lag(speed_mps).over(w)) / F.col("dt_s")
    df = df.withColumn(
        "accel_est_mps2",
        F.coalesce(F.col("accel_mps2"), F.when(F.col("dt_s") > 0, derived_accel), F.lit(0.0)),
    )
    harsh_accel = F.col("accel_est_mps2") >= HARSH_ACCEL_MPS2
    harsh_brake = F.col("accel_est_mps2") <= HARSH_BRAKE_MPS2
    stopped = F.col("vehicle_speed_kph") < STOPPED_KPH
    df = df.select(
        "*",
        window_start(telemetry).alias("window_start"),
        F.coalesce(increment("fuel_used_l"), F.lit(0.0)).alias("d_fuel_l"),
        F.coalesce(increment("odometer_km"), F.lit(0.0)).alias("d_distance_km"),
        *[F.coalesce(increment(f), F.lit(0.0)).alias(f"d_{f}") for f in _WEAR_FIELDS],
        F.coalesce(
            F.greatest(F.lag("oil_life_pct").over(w) - F.col("oil_life_pct"), F.lit(0.0)),
            F.lit(0.0),
        ).alias("d_oil_life_used_pct"),
        F.coalesce(
            F.greatest(speed_mps * speed_mps - F.lag(speed_mps * speed_mps).over(w), F.lit(0.0)),
            F.lit(0.0),
        ).alias("d_pke_m2ps2"),
        F.coalesce(F.lag("gear").over(w), F.col("gear")).alias("prev_gear"),
        _rising(harsh_accel, w).alias("harsh_accel"),
        _rising(harsh_brake, w).alias("harsh_brake"),
        (F.col("engine_on") & stopped).cast("int").alias("idle"),
        (F.col("engine_on") & (F.col("coolant_temp_c") < COLD_COOLANT_C)).cast("int").alias("cold"),
        (stopped & ~F.coalesce(F.lag(stopped).over(w), F.lit(True))).cast("int").alias("stop"),
    )
    return df


def _rising(flag: Column, w: Window) -> Column:
    """1 on the first event of each run of consecutive true ``flag`` values, else 0."""
    return (flag & ~F.coalesce(F.lag(flag).over(w), F.lit(False))).cast("int")


def _ratio(num: Column, den: Column, scale: float, min_den: float) -> Column:
    return F.when(den >= min_den, num / den * scale)


def minute_aggregates(increments: DataFrame) -> DataFrame:
    """One row per vehicle, run and minute with every aggregate Gold needs.

    Args:
        increments: Output of :func:`with_increments`.
    """
    dt = F.col("dt_s")
    gear_times = [
        F.sum(F.when(F.col("prev_gear") == g, dt).otherwise(0.0)).alias(gear_column(g))
        for g in _gears()
    ]
    agg = increments.groupBy(*WINDOW_KEYS).agg(
        F.count(F.lit(1)).alias("events"),
        F.min("emitted_at").alias("start_at"),
        F.max("emitted_at").alias("end_at"),
        F.min("sim_time_s").alias("sim_time_start_s"),
        F.max("sim_time_s").alias("sim_time_end_s"),
        F.sum(dt).alias("duration_s"),
        F.avg("engine_rpm").alias("engine_rpm_mean"),
        F.max("engine_rpm").alias("engine_rpm_max"),
        F.avg("vehicle_speed_kph").alias("speed_kph_mean"),
        F.max("vehicle_speed_kph").alias("speed_kph_max"),
        F.stddev_pop("vehicle_speed_kph").alias("speed_kph_std"),
        F.max("coolant_temp_c").alias("coolant_temp_c_max"),
        F.avg("coolant_temp_c").alias("coolant_temp_c_mean"),
        F.max("oil_temp_c").alias("oil_temp_c_max"),
        F.sum("d_fuel_l").alias("fuel_used_l"),
        F.sum("d_distance_km").alias("distance_km"),
        F.sum("harsh_accel").alias("harsh_accel_count"),
        F.sum("harsh_brake").alias("harsh_brake_count"),
        *gear_times,
        *[F.sum(f"d_{f}").alias(f"{f}_delta") for f in _WEAR_FIELDS],
        F.sum("d_oil_life_used_pct").alias("oil_life_used_pct"),
        F.avg("throttle_pct").alias("throttle_pct_mean"),
        F.avg("brake_pct").alias("brake_pct_mean"),
        F.avg("road_grade_pct").alias("road_grade_pct_mean"),
        F.avg(F.abs("road_grade_pct")).alias("road_grade_abs_pct_mean"),
        F.avg("ambient_temp_c").alias("ambient_temp_c_mean"),
        F.min("ambient_temp_c").alias("ambient_temp_c_min"),
        F.avg(F.greatest("accel_est_mps2", F.lit(0.0))).alias("accel_pos_mps2_mean"),
        F.stddev_pop("accel_est_mps2").alias("accel_mps2_std"),
        F.sum(F.col("idle") * dt).alias("idle_s"),
        F.sum(F.col("cold") * dt).alias("cold_s"),
        F.sum(F.col("engine_on").cast("int") * dt).alias("engine_on_s"),
        F.sum("stop").alias("stop_count"),
        F.sum("d_pke_m2ps2").alias("pke_sum_m2ps2"),
        F.avg((F.col("engine_rpm") > 3000).cast("double")).alias("high_rpm_share"),
        F.min("odometer_km").alias("odometer_km_start"),
        F.min("engine_wear_pct").alias("engine_wear_pct_start"),
        # per window, so the id's pattern is matched once a minute, not once an event
        vehicle_model(F.max("vehicle_model"), F.max("vehicle_id")).alias("vehicle_model"),
        F.mode("driver_mode").alias("driver_mode"),
    )
    return agg.withColumn(
        "window_end", F.col("window_start") + F.expr(f"INTERVAL {WINDOW_S} SECONDS")
    )


def vehicle_minute(minutes: DataFrame) -> DataFrame:
    """``gold/vehicle_minute``: the per-minute report columns of :func:`minute_aggregates`."""
    return minutes.select(
        *WINDOW_KEYS,
        "window_end",
        "events",
        "sim_time_start_s",
        "sim_time_end_s",
        "duration_s",
        "engine_rpm_mean",
        "engine_rpm_max",
        "speed_kph_mean",
        "speed_kph_max",
        "coolant_temp_c_max",
        "oil_temp_c_max",
        "fuel_used_l",
        "distance_km",
        _ratio(F.col("fuel_used_l"), F.col("distance_km"), 100.0, MIN_DISTANCE_KM).alias(
            "fuel_l_per_100km"
        ),
        "harsh_accel_count",
        "harsh_brake_count",
        *[gear_column(g) for g in _gears()],
        *[f"{f}_delta" for f in _WEAR_FIELDS],
        "oil_life_used_pct",
    )


def vehicle_model(model: Column, vehicle_id: Column) -> Column:
    """The payload's ``vehicle_model``, else the vehicle id without its ``-NNN`` fleet suffix."""
    return F.coalesce(model, F.nullif(F.regexp_extract(vehicle_id, r"^(.+)-[0-9]+$", 1), F.lit("")))


#: Columns of the vehicle dimension :func:`features` joins on ``vehicle_model``.
VEHICLE_COLUMNS = ("mass_kg", "displacement_l", "rated_power_w")


def features(minutes: DataFrame, vehicles: DataFrame | None = None) -> DataFrame:
    """``gold/features``: one ML example per vehicle, run and minute (definitions in docs).

    Inputs describe how the car was driven, in what conditions, and the car itself; targets
    are the fuel consumption and wear rates of the same window.

    Args:
        minutes: Output of :func:`minute_aggregates`.
        vehicles: Optional vehicle dimension: ``vehicle_model`` and :data:`VEHICLE_COLUMNS`
            (null features for models it does not list).
    """
    duration = F.col("duration_s")
    distance = F.col("distance_km")
    if vehicles is None:
        vehicles = minutes.sparkSession.createDataFrame(
            [], "vehicle_model string, mass_kg double, displacement_l double, rated_power_w double"
        )
    minutes = minutes.join(
        F.broadcast(vehicles.select("vehicle_model", *VEHICLE_COLUMNS)), "vehicle_model", "left"
    )
    gear_share = [
        _ratio(F.col(gear_column(g)), duration, 1.0, 1e-9).alias(f"gear_{_gear_label(g)}_frac")
        for g in _gears()
    ]
    per_100km = [
        _ratio(F.col(f"{f}_delta"), distance, 100.0, MIN_DISTANCE_KM).alias(f"{f}_per_100km")
        for f in _WEAR_FIELDS
    ]
    return minutes.select(
        *WINDOW_KEYS,
        "window_end",
        F.col("vehicle_model").alias("vehicle"),
        "driver_mode",
        "events",
        "duration_s",
        "distance_km",
        _ratio(distance * 1000.0, duration, 1.0, 1e-9).alias("mean_speed_mps"),
        (F.col("speed_kph_max") / 3.6).alias("max_speed_mps"),
        (F.col("speed_kph_std") / 3.6).alias("speed_std_mps"),
        _ratio(F.col("stop_count"), distance, 1.0, MIN_DISTANCE_KM).alias("stops_per_km"),
        _ratio(F.col("idle_s"), duration, 1.0, 1e-9).alias("idle_frac"),
        _ratio(F.col("pke_sum_m2ps2"), distance * 1000.0, 1.0, MIN_DISTANCE_KM * 1000.0).alias(
            "pke_mps2"
        ),
        "accel_pos_mps2_mean",
        "accel_mps2_std",
        "throttle_pct_mean",
        "brake_pct_mean",
        "engine_rpm_mean",
        "high_rpm_share",
        (F.col("harsh_accel_count") + F.col("harsh_brake_count")).alias("harsh_event_count"),
        F.col("ambient_temp_c_mean").alias("ambient_temp_c"),
        "coolant_temp_c_mean",
        _ratio(F.col("cold_s"), duration, 1.0, 1e-9).alias("cold_frac"),
        F.when(F.col("cold_s") >= 0.5 * duration, 1.0).otherwise(0.0).alias("cold_start"),
        "road_grade_pct_mean",
        "road_grade_abs_pct_mean",
        "odometer_km_start",
        "engine_wear_pct_start",
        *gear_share,
        *VEHICLE_COLUMNS,
        (F.col("rated_power_w") / F.col("mass_kg")).alias("power_to_mass_w_per_kg"),
        # targets
        "fuel_used_l",
        _ratio(F.col("fuel_used_l"), distance, 100.0, MIN_DISTANCE_KM).alias("fuel_l_per_100km"),
        _ratio(F.col("fuel_used_l"), duration, 3600.0, 1e-9).alias("fuel_rate_lph_mean"),
        *per_100km,
        _ratio(F.col("engine_wear_pct_delta"), duration, 3600.0, 1e-9).alias(
            "engine_wear_pct_per_h"
        ),
        _ratio(F.col("oil_life_used_pct"), duration, 3600.0, 1e-9).alias("oil_life_used_pct_per_h"),
        ((distance >= MIN_DISTANCE_KM) & (duration >= MIN_DURATION_S)).alias("is_valid_example"),
    )


def trips(minutes: DataFrame, telemetry: DataFrame) -> DataFrame:
    """``gold/trips``: one row per vehicle and run (a run of the runtime is one trip).

    Totals are sums of the run's minute aggregates (every increment belongs to exactly one
    window, so they equal sums over its events); the driver profile is the most frequent one
    over the run's events.

    Args:
        minutes: Output of :func:`minute_aggregates` for whole runs (every window of them).
        telemetry: The Silver rows of the same runs (``driver_mode`` is read).
    """
    agg = minutes.groupBy(*TRIP_KEYS).agg(
        F.min("start_at").alias("start_at"),
        F.max("end_at").alias("end_at"),
        F.sum("events").alias("events"),
        F.sum("duration_s").alias("duration_s"),
        F.sum("distance_km").alias("distance_km"),
        F.sum("fuel_used_l").alias("fuel_used_l"),
        F.max("speed_kph_max").alias("speed_kph_max"),
        F.sum("cold_s").alias("cold_s"),
        F.sum("idle_s").alias("idle_s"),
        F.sum("engine_on_s").alias("engine_on_s"),
        F.sum("harsh_accel_count").alias("harsh_accel_count"),
        F.sum("harsh_brake_count").alias("harsh_brake_count"),
        *[F.sum(f"{f}_delta").alias(f"{f}_delta") for f in _WEAR_FIELDS],
        F.sum("oil_life_used_pct").alias("oil_life_used_pct"),
        F.min("ambient_temp_c_min").alias("ambient_temp_c_min"),
        F.max("vehicle_model").alias("vehicle_model"),
    )
    profiles = telemetry.groupBy(*TRIP_KEYS).agg(F.mode("driver_mode").alias("driver_profile"))
    agg = agg.join(profiles, list(TRIP_KEYS), "left")
    harsh_per_100km = _ratio(
        F.col("harsh_accel_count") + F.col("harsh_brake_count"),
        F.col("distance_km"),
        100.0,
        MIN_DISTANCE_KM,
    )
    calm, moderate = STYLE_LIMITS_PER_100KM
    return agg.select(
        *TRIP_KEYS,
        "start_at",
        "end_at",
        "events",
        "duration_s",
        "distance_km",
        "fuel_used_l",
        _ratio(F.col("fuel_used_l"), F.col("distance_km"), 100.0, MIN_DISTANCE_KM).alias(
            "fuel_l_per_100km"
        ),
        _ratio(F.col("distance_km"), F.col("duration_s"), 3600.0, 1e-9).alias("speed_kph_mean"),
        "speed_kph_max",
        _ratio(F.col("cold_s"), F.col("engine_on_s"), 1.0, 1e-9).alias("cold_start_share"),
        _ratio(F.col("idle_s"), F.col("duration_s"), 1.0, 1e-9).alias("idle_share"),
        "harsh_accel_count",
        "harsh_brake_count",
        harsh_per_100km.alias("harsh_events_per_100km"),
        *[f"{f}_delta" for f in _WEAR_FIELDS],
        "oil_life_used_pct",
        "ambient_temp_c_min",
        "vehicle_model",
        "driver_profile",
        F.when(harsh_per_100km.isNull(), F.lit(None))
        .when(harsh_per_100km < calm, F.lit("calm"))
        .when(harsh_per_100km < moderate, F.lit("moderate"))
        .otherwise(F.lit("aggressive"))
        .alias("driving_style"),
    )


def open_windows(minutes: DataFrame, cutoffs: DataFrame) -> DataFrame:
    """Windows a late event may still change: those ending after their run's cutoff.

    Args:
        minutes: Rows keyed by :data:`WINDOW_KEYS` with ``window_end``.
        cutoffs: ``vehicle_id``, ``run_id``, ``cutoff`` (timestamp: newest event time already
            in Gold minus the watermark); runs without a row have no closed window.
    """
    joined = minutes.join(cutoffs, list(TRIP_KEYS), "left")
    return joined.where(F.col("cutoff").isNull() | (F.col("window_end") > F.col("cutoff"))).drop(
        "cutoff"
    )
