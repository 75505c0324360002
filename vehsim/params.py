"""Vehicle parameter sets: data files validated on load, by field, with physical ranges.

A vehicle file is YAML with ``name``, ``source``, ``notes`` and the sections below; every
number is checked for type and range, and an error names the field, its unit and the allowed
range. Shipped vehicles live in ``vehsim/data/vehicles/<name>.yaml`` and are loaded by name.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from vehsim.constants import AIR_DENSITY_ISA_KGPM3
from vehsim.errors import ParameterError
from vehsim.physics.options import SUBMODELS, option_code, variant_names, variant_param_fields

GEARBOX_TYPES = variant_names("gearbox")
MAX_GEARS = 10
MAX_CURVE_POINTS = 16

#: (section, field, unit, min, max) for every scalar parameter. Ranges bound what any road car
#: can physically have; they catch unit mistakes (lb for kg, hp for W) and typos.
SCALAR_FIELDS: tuple[tuple[str, str, str, float, float], ...] = (
    ("vehicle", "mass_kg", "kg", 300.0, 10_000.0),
    ("vehicle", "road_load_a_n", "N", 0.0, 2_000.0),
    ("vehicle", "road_load_b_n_per_mps", "N/(m/s)", -50.0, 100.0),
    ("vehicle", "road_load_c_n_per_mps2", "N/(m/s)²", 0.05, 5.0),
    ("vehicle", "wheel_radius_m", "m", 0.2, 0.6),
    ("vehicle", "rotating_mass_frac", "-", 0.0, 0.2),
    ("vehicle", "tyre_mu", "-", 0.3, 1.6),
    ("vehicle", "drive_axle_load_frac", "-", 0.3, 1.0),
    ("vehicle", "fuel_tank_l", "L", 5.0, 200.0),
    ("engine", "displacement_l", "L", 0.5, 10.0),
    ("engine", "cylinders", "-", 1, 16),
    ("engine", "rated_power_w", "W", 20_000.0, 1_200_000.0),
    ("engine", "rated_speed_rpm", "rpm", 3_000.0, 9_500.0),
    ("engine", "idle_speed_rpm", "rpm", 450.0, 1_200.0),
    ("engine", "max_speed_rpm", "rpm", 3_500.0, 10_000.0),
    ("engine", "inertia_kgm2", "kg m²", 0.05, 1.5),
    ("engine", "friction_scale", "-", 0.3, 3.0),
    ("engine", "pumping_mep_idle_pa", "Pa", 0.0, 100_000.0),
    ("engine", "atmospheric_bmep_pa", "Pa", 500_000.0, 1_500_000.0),
    ("engine", "eta_indicated", "-", 0.2, 0.5),
    ("engine", "accessory_power_w", "W", 0.0, 5_000.0),
    ("engine", "cold_enrichment_gain", "-", 0.0, 2.0),
    ("engine", "crank_duration_s", "s", 0.1, 5.0),
    ("engine", "start_fuel_g", "g", 0.0, 10.0),
    ("engine", "fuel_cutoff_min_rpm", "rpm", 500.0, 3_000.0),
    ("engine", "fuel_cutoff_delay_s", "s", 0.0, 10.0),
    ("engine", "idle_stop", "-", 0, 1),
    ("engine", "deactivation_active_frac", "-", 0.25, 1.0),
    ("engine", "deactivation_max_bmep_pa", "Pa", 0.0, 1_500_000.0),
    ("engine", "deactivation_min_rpm", "rpm", 0.0, 10_000.0),
    ("engine", "deactivation_max_rpm", "rpm", 0.0, 10_000.0),
    ("engine", "deactivation_delay_s", "s", 0.0, 60.0),
    ("gearbox", "final_drive_ratio", "-", 1.5, 7.0),
    ("gearbox", "efficiency", "-", 0.7, 1.0),
    ("gearbox", "spin_loss_nm", "N m", 0.0, 60.0),
    ("gearbox", "shift_duration_s", "s", 0.05, 2.0),
    ("gearbox", "converter_stall_rpm", "rpm", 1_000.0, 4_000.0),
    ("gearbox", "converter_stall_torque_ratio", "-", 1.0, 3.0),
    ("gearbox", "lockup_min_gear", "-", 1, MAX_GEARS),
    ("thermal", "coolant_capacity_jpk", "J/K", 5_000.0, 500_000.0),
    ("thermal", "oil_capacity_jpk", "J/K", 1_000.0, 100_000.0),
    ("thermal", "ua_oil_coolant_wpk", "W/K", 1.0, 2_000.0),
    ("thermal", "ua_radiator_min_wpk", "W/K", 1.0, 5_000.0),
    ("thermal", "ua_radiator_wpk_per_mps", "W/K/(m/s)", 0.0, 1_000.0),
    ("thermal", "ua_fan_wpk", "W/K", 0.0, 10_000.0),
    ("thermal", "ua_bay_wpk", "W/K", 0.0, 200.0),
    ("thermal", "thermostat_open_c", "°C", 60.0, 110.0),
    ("thermal", "thermostat_full_c", "°C", 65.0, 120.0),
    ("thermal", "fan_on_c", "°C", 80.0, 125.0),
    ("thermal", "fan_off_c", "°C", 70.0, 120.0),
    ("thermal", "heat_to_coolant_frac", "-", 0.1, 0.6),
    ("thermal", "warm_coolant_temp_c", "°C", 50.0, 110.0),
    ("wear", "brake_pad_life_j", "J", 1e8, 1e12),
    ("wear", "tyre_life_m", "m", 5e6, 2e8),
    ("wear", "tyre_slip_gain", "-", 0.0, 1_000.0),
    ("wear", "engine_life_rev", "rev", 1e8, 1e11),
    ("wear", "engine_cold_gain", "-", 0.0, 50.0),
    ("wear", "gearbox_life_rev", "rev", 1e8, 1e11),
    ("wear", "oil_life_rev", "rev", 1e6, 1e9),
    ("wear", "radiator_fouling_per_m", "1/m", 0.0, 1e-5),
)

INT_FIELDS = {"cylinders", "lockup_min_gear", "idle_stop"}
SECTIONS = ("vehicle", "engine", "gearbox", "thermal", "wear")


@dataclass(frozen=True)
class VehicleParams:
    """A validated vehicle parameter set (SI units, temperatures in °C)."""

    name: str
    source: str
    notes: str
    values: dict[str, float]
    gearbox_type: str
    gear_ratios: tuple[float, ...]
    torque_curve_rpm: tuple[float, ...]
    torque_curve_nm: tuple[float, ...]
    meta: dict[str, Any] = field(default_factory=dict)
    #: Chosen variant of every submodel other than the gearbox (``{"thermal": "lumped"}``);
    #: a submodel missing here uses its default (first) variant (``physics/options.py``).
    submodels: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, key: str) -> float:
        return self.values[key]

    def submodel(self, name: str) -> str:
        """The variant of submodel ``name`` this vehicle uses."""
        if name == "gearbox":
            return self.gearbox_type
        return self.submodels.get(name, variant_names(name)[0])

    @property
    def n_gears(self) -> int:
        return len(self.gear_ratios)

    def to_dict(self) -> dict[str, Any]:
        """The parameter set as the nested document a vehicle file holds."""
        doc: dict[str, Any] = {"name": self.name, "source": self.source, "notes": self.notes}
        for section, key, *_ in SCALAR_FIELDS:
            value = self.values[key]
            doc.setdefault(section, {})[key] = int(value) if key in INT_FIELDS else float(value)
        doc["engine"]["torque_curve_rpm"] = [float(x) for x in self.torque_curve_rpm]
        doc["engine"]["torque_curve_nm"] = [float(x) for x in self.torque_curve_nm]
        doc["gearbox"]["type"] = self.gearbox_type
        doc["gearbox"]["ratios"] = [float(x) for x in self.gear_ratios]
        for submodel, (section, key, variants) in SUBMODELS.items():
            chosen = self.submodel(submodel)
            if submodel != "gearbox" and chosen != variants[0].name:  # defaults stay implicit
                doc[section][key] = chosen
        for section, key, *_, submodel, variant in variant_param_fields():
            if self.submodel(submodel) == variant:
                doc[section][key] = float(self.values[key])
        if self.meta:
            doc["meta"] = dict(self.meta)
        return doc

    def content_hash(self) -> str:
        """SHA-256 of the physical content (not name or notes): what makes a run reproducible."""
        doc = self.to_dict()
        for key in ("name", "source", "notes", "meta"):
            doc.pop(key, None)
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]

    def replace(self, **changes: float) -> VehicleParams:
        """A copy with some scalar values changed (validated)."""
        doc = self.to_dict()
        for key, value in changes.items():
            section = _SECTION_OF.get(key)
            if section is None:
                raise ParameterError(f"unknown parameter {key!r}")
            doc[section][key] = value
        return from_dict(doc, origin=f"{self.name} (modified)")


_SECTION_OF = {key: section for section, key, *_ in (*SCALAR_FIELDS, *variant_param_fields())}


def _number(
    origin: str, path: str, value: Any, unit: str, lo: float, hi: float, integer: bool
) -> float:
    allowed = f"allowed {lo:g} to {hi:g} {unit}".rstrip()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParameterError(f"{origin}: {path} must be a number ({allowed}), got {value!r}")
    if not math.isfinite(value):
        raise ParameterError(f"{origin}: {path} must be finite ({allowed}), got {value!r}")
    if integer and int(value) != value:
        raise ParameterError(f"{origin}: {path} must be a whole number ({allowed}), got {value!r}")
    if not lo <= value <= hi:
        raise ParameterError(f"{origin}: {path} = {value:g} {unit} is out of range ({allowed})")
    return float(value)


def _number_list(
    origin: str, path: str, value: Any, unit: str, lo: float, hi: float, min_len: int, max_len: int
) -> tuple[float, ...]:
    if not isinstance(value, list) or not min_len <= len(value) <= max_len:
        raise ParameterError(
            f"{origin}: {path} must be a list of {min_len} to {max_len} numbers [{unit}], got {value!r}"
        )
    return tuple(
        _number(origin, f"{path}[{i}]", v, unit, lo, hi, False) for i, v in enumerate(value)
    )


def from_dict(doc: Any, origin: str = "vehicle") -> VehicleParams:
    """Validate a vehicle document and build :class:`VehicleParams`."""
    if not isinstance(doc, dict):
        raise ParameterError(
            f"{origin}: a vehicle file must be a mapping, got {type(doc).__name__}"
        )
    for key in ("name", "source"):
        if not isinstance(doc.get(key), str) or not doc[key].strip():
            raise ParameterError(f"{origin}: '{key}' is required (a non-empty text)")
    unknown_top = set(doc) - set(SECTIONS) - {"name", "source", "notes", "meta"}
    if unknown_top:
        raise ParameterError(
            f"{origin}: unknown section(s) {sorted(unknown_top)}; known: {list(SECTIONS)}"
        )
    values: dict[str, float] = {}
    for section in SECTIONS:
        if not isinstance(doc.get(section), dict):
            raise ParameterError(f"{origin}: section '{section}' is required")
    doc = _road_load_from_drag(doc, origin)
    for section, key, unit, lo, hi in SCALAR_FIELDS:
        if key not in doc[section]:
            raise ParameterError(
                f"{origin}: {section}.{key} is missing (a number from {lo:g} to {hi:g} {unit})"
            )
        values[key] = _number(
            origin, f"{section}.{key}", doc[section][key], unit, lo, hi, key in INT_FIELDS
        )
    submodels = {}
    for submodel, (section, key, variants) in SUBMODELS.items():
        if submodel != "gearbox":
            chosen = doc[section].get(key, variants[0].name)
            option_code(submodel, chosen, origin)  # validates the name
            submodels[submodel] = chosen
    for section, key, unit, lo, hi, submodel, variant in variant_param_fields():
        if submodels.get(submodel) != variant:
            if key in doc[section]:
                raise ParameterError(
                    f"{origin}: {section}.{key} belongs to {section} model {variant!r}, "
                    f"but this vehicle uses {submodels.get(submodel)!r}"
                )
            continue
        if key not in doc[section]:
            raise ParameterError(
                f"{origin}: {section}.{key} is missing ({section} model {variant!r} needs a "
                f"number from {lo:g} to {hi:g} {unit})"
            )
        values[key] = _number(origin, f"{section}.{key}", doc[section][key], unit, lo, hi, False)
    known = (
        {key for _, key, *_ in (*SCALAR_FIELDS, *variant_param_fields())}
        | {"torque_curve_rpm", "torque_curve_nm", "ratios"}
        | {key for section, key, _ in SUBMODELS.values()}
    )
    for section in SECTIONS:
        extra = set(doc[section]) - known
        if extra:
            raise ParameterError(f"{origin}: unknown field(s) in {section}: {sorted(extra)}")

    engine, gearbox = doc["engine"], doc["gearbox"]
    rpm = _number_list(
        origin,
        "engine.torque_curve_rpm",
        engine.get("torque_curve_rpm"),
        "rpm",
        0.0,
        12_000.0,
        3,
        MAX_CURVE_POINTS,
    )
    torque = _number_list(
        origin,
        "engine.torque_curve_nm",
        engine.get("torque_curve_nm"),
        "N m",
        0.0,
        3_000.0,
        3,
        MAX_CURVE_POINTS,
    )
    if len(rpm) != len(torque):
        raise ParameterError(
            f"{origin}: engine.torque_curve_rpm has {len(rpm)} points but torque_curve_nm has {len(torque)}"
        )
    if any(b <= a for a, b in zip(rpm, rpm[1:], strict=False)):
        raise ParameterError(f"{origin}: engine.torque_curve_rpm must be strictly increasing")
    gtype = gearbox.get("type")
    if gtype not in GEARBOX_TYPES:
        raise ParameterError(
            f"{origin}: gearbox.type must be one of {list(GEARBOX_TYPES)}, got {gtype!r}"
        )
    ratios = _number_list(
        origin, "gearbox.ratios", gearbox.get("ratios"), "-", 0.3, 8.0, 1, MAX_GEARS
    )
    if any(b >= a for a, b in zip(ratios, ratios[1:], strict=False)):
        raise ParameterError(f"{origin}: gearbox.ratios must decrease from first gear to top gear")
    if gtype == "cvt" and len(ratios) != 2:
        raise ParameterError(
            f"{origin}: a cvt gearbox gives 2 ratios (lowest and highest), got {len(ratios)}"
        )

    checks = (
        (
            values["idle_speed_rpm"] < values["rated_speed_rpm"] <= values["max_speed_rpm"],
            "engine: need idle_speed_rpm < rated_speed_rpm <= max_speed_rpm",
        ),
        (
            values["deactivation_min_rpm"] <= values["deactivation_max_rpm"],
            "engine: need deactivation_min_rpm <= deactivation_max_rpm",
        ),
        (
            values["thermostat_open_c"] < values["thermostat_full_c"],
            "thermal: thermostat_open_c must be below thermostat_full_c",
        ),
        (values["fan_off_c"] < values["fan_on_c"], "thermal: fan_off_c must be below fan_on_c"),
        (
            values["lockup_min_gear"] <= len(ratios),
            "gearbox: lockup_min_gear exceeds the number of gears",
        ),
        (
            rpm[0] <= values["idle_speed_rpm"] and rpm[-1] >= values["rated_speed_rpm"],
            "engine: torque curve must span idle_speed_rpm to rated_speed_rpm",
        ),
    )
    for ok, message in checks:
        if not ok:
            raise ParameterError(f"{origin}: {message}")
    peak_power_w = max(r * t for r, t in zip(rpm, torque, strict=True)) * math.pi / 30.0
    if not 0.7 <= peak_power_w / values["rated_power_w"] <= 1.3:
        raise ParameterError(
            f"{origin}: torque curve peak power {peak_power_w / 1000:.0f} kW disagrees with "
            f"engine.rated_power_w {values['rated_power_w'] / 1000:.0f} kW (allowed ±30%)"
        )
    return VehicleParams(
        name=doc["name"],
        source=doc["source"],
        notes=str(doc.get("notes", "")),
        values=values,
        gearbox_type=gtype,
        gear_ratios=ratios,
        torque_curve_rpm=rpm,
        torque_curve_nm=torque,
        meta=dict(doc.get("meta", {})),
        submodels=submodels,
    )


def _road_load_from_drag(doc: dict, origin: str) -> dict:
    """Accept ``crr`` and ``drag_area_m2`` instead of coast-down coefficients A/B/C.

    A = Crr m g, B = 0, C = ½ ρ Cd·A at ISA sea-level density (Gillespie 1992, ch. 4).
    """
    vehicle = doc["vehicle"]
    if "crr" not in vehicle and "drag_area_m2" not in vehicle:
        return doc
    if any(
        k in vehicle for k in ("road_load_a_n", "road_load_b_n_per_mps", "road_load_c_n_per_mps2")
    ):
        raise ParameterError(
            f"{origin}: give either road_load_a/b/c or crr and drag_area_m2, not both"
        )
    # Local import: keeps loading a vehicle file free of Numba (physics modules compile on import).
    from vehsim.physics.road_load import coefficients_from_drag

    crr = _number(origin, "vehicle.crr", vehicle.get("crr"), "-", 0.003, 0.03, False)
    cda = _number(
        origin, "vehicle.drag_area_m2", vehicle.get("drag_area_m2"), "m²", 0.2, 3.0, False
    )
    mass = _number(origin, "vehicle.mass_kg", vehicle.get("mass_kg"), "kg", 300.0, 10_000.0, False)
    a_n, b, c = coefficients_from_drag(mass, crr, cda, AIR_DENSITY_ISA_KGPM3)
    rest = {k: v for k, v in vehicle.items() if k not in ("crr", "drag_area_m2")}
    return {
        **doc,
        "vehicle": {
            **rest,
            "road_load_a_n": a_n,
            "road_load_b_n_per_mps": b,
            "road_load_c_n_per_mps2": c,
        },
    }


def _vehicle_dir():
    return resources.files("vehsim").joinpath("data", "vehicles")


def list_vehicles() -> list[str]:
    """Names of the vehicles shipped with vehsim."""
    return sorted(p.name[:-5] for p in _vehicle_dir().iterdir() if p.name.endswith(".yaml"))


def load_vehicle(name_or_path: str | Path) -> VehicleParams:
    """Load a shipped vehicle by name, or a vehicle file by path, and validate it."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise ParameterError(f"vehicle file {path} does not exist")
        text, origin = path.read_text(), str(path)
    else:
        resource = _vehicle_dir().joinpath(f"{name_or_path}.yaml")
        if not resource.is_file():
            raise ParameterError(
                f"unknown vehicle {str(name_or_path)!r}; shipped vehicles: {', '.join(list_vehicles())}"
            )
        text, origin = resource.read_text(), f"vehicle {name_or_path}"
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ParameterError(f"{origin}: not valid YAML ({exc})") from exc
    return from_dict(doc, origin)
