"""Conversions between the simulation's SI units and the units people read (at the edges only)."""

from vehsim.constants import (
    KG_PER_LB,
    L_PER_GALLON,
    M_PER_MILE,
    MPS_PER_KPH,
    MPS_PER_MPH,
    N_PER_LBF,
    W_PER_HP,
)


def mps_to_kph(speed_mps):
    return speed_mps / MPS_PER_KPH


def kph_to_mps(speed_kph):
    return speed_kph * MPS_PER_KPH


def mps_to_mph(speed_mps):
    return speed_mps / MPS_PER_MPH


def mph_to_mps(speed_mph):
    return speed_mph * MPS_PER_MPH


def lb_to_kg(mass_lb):
    return mass_lb * KG_PER_LB


def lbf_to_n(force_lbf):
    return force_lbf * N_PER_LBF


def hp_to_w(power_hp):
    return power_hp * W_PER_HP


def l_per_100km_to_mpg(fuel_l_per_100km):
    """Fuel consumption [L/100 km] to fuel economy [miles per US gallon]."""
    return (100.0 / fuel_l_per_100km) * (1000.0 / M_PER_MILE) * L_PER_GALLON


def mpg_to_l_per_100km(fuel_economy_mpg):
    return (100.0 * L_PER_GALLON * 1000.0) / (fuel_economy_mpg * M_PER_MILE)
