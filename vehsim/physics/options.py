"""Submodel options: which variant of each submodel a vehicle uses, chosen by name, validated here.

A vehicle file names its variants (``gearbox.type: cvt``, ``thermal.model: three_node``); the
parameter row carries each choice as a small integer code, and the stage of that submodel
(``physics/<topic>.py``) branches on it. One compiled kernel therefore serves a mixed fleet.

A new variant is one function in its physics module, one entry here (its name, and the parameters
and state it adds) and its data. Parameters a variant adds are required in the files of vehicles
that choose it and zero in the others. The state it adds starts at zero, except temperatures of
the engine (names ending in ``_temp_c``), which start where the coolant starts.

Pure Python, no Numba: ``vehsim.params`` reads this table without loading the kernel.
"""

from __future__ import annotations

from dataclasses import dataclass

from vehsim.errors import ParameterError


@dataclass(frozen=True)
class Variant:
    """One variant of a submodel.

    Attributes:
        name: its name in vehicle files.
        params: the parameters it adds, as ``(field, unit, min, max)`` in the submodel's section.
        state: the state columns it adds (names with units; ``*_temp_c`` start at the engine's
            initial temperature).
    """

    name: str
    params: tuple[tuple[str, str, float, float], ...] = ()
    state: tuple[str, ...] = ()


#: Submodel -> (file section, field that names the variant, variants in code order). The first
#: variant is the default when a file does not name one (``gearbox.type`` is always required).
SUBMODELS: dict[str, tuple[str, str, tuple[Variant, ...]]] = {
    "gearbox": (
        "gearbox",
        "type",
        (Variant("automatic"), Variant("manual"), Variant("cvt")),
    ),
    "thermal": (
        "thermal",
        "model",
        (
            Variant("lumped"),
            Variant(
                "three_node",
                params=(
                    ("head_capacity_jpk", "J/K", 1_000.0, 100_000.0),
                    ("ua_head_coolant_wpk", "W/K", 10.0, 5_000.0),
                    ("heat_to_head_frac", "-", 0.0, 1.0),
                ),
                state=("head_temp_c",),
            ),
        ),
    ),
    "hybrid": (
        "engine",
        "hybrid",
        (
            Variant("none"),
            Variant(
                "belt_starter_generator",
                params=(
                    ("bsg_power_w", "W", 1_000.0, 30_000.0),
                    ("bsg_usable_energy_j", "J", 10_000.0, 5_000_000.0),
                    ("bsg_efficiency", "-", 0.5, 1.0),
                ),
                state=("bsg_stored_j", "bsg_regen_work_j", "bsg_assist_work_j"),
            ),
        ),
    ),
}

# Codes as the kernel sees them (position in the tuple above).
GEARBOX_AUTOMATIC, GEARBOX_MANUAL, GEARBOX_CVT = 0, 1, 2
THERMAL_LUMPED, THERMAL_THREE_NODE = 0, 1
HYBRID_NONE, HYBRID_BSG = 0, 1


def variants(submodel: str) -> tuple[Variant, ...]:
    return SUBMODELS[submodel][2]


def code_column(submodel: str) -> str:
    """The parameter column that holds the variant code of ``submodel`` (``gearbox_type``)."""
    section, key, _ = SUBMODELS[submodel]
    return f"{section}_{key}"


def variant_names(submodel: str) -> tuple[str, ...]:
    return tuple(v.name for v in variants(submodel))


def option_code(submodel: str, name: str, origin: str = "vehicle") -> int:
    """The code of variant ``name`` of ``submodel``; an error lists the allowed names."""
    names = variant_names(submodel)
    if name not in names:
        section, key, _ = SUBMODELS[submodel]
        raise ParameterError(
            f"{origin}: {section}.{key} must be one of {list(names)}, got {name!r}"
        )
    return names.index(name)


def variant_param_fields() -> tuple[tuple[str, str, str, float, float, str, str], ...]:
    """Every parameter a variant adds: ``(section, field, unit, min, max, submodel, variant)``."""
    return tuple(
        (section, key, unit, lo, hi, submodel, v.name)
        for submodel, (section, _, vs) in SUBMODELS.items()
        for v in vs
        for key, unit, lo, hi in v.params
    )


def variant_state_columns() -> tuple[str, ...]:
    """Every state column a variant adds, in table order."""
    return tuple(c for _, _, vs in SUBMODELS.values() for v in vs for c in v.state)
