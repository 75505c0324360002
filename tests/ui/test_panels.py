"""Panel markup: the stable hooks, a dash for nothing to show, and text from files escaped."""

from vehsim.ui.dtc import DiagnosticStatus, TroubleCode
from vehsim.ui.panels import clock, dtc_html, spec_html, trip_html, wear_html, wear_text
from vehsim.ui.readings import wear_rows
from vehsim.ui.trip import TripFigures
from vehsim.ui.vehicles import SpecSheet


def test_clock_and_wear_digits():
    assert clock(0.0) == "0:00" and clock(59.9) == "0:59" and clock(3725.0) == "1:02:05"
    assert wear_text(0.01234) == "0.012" and wear_text(85.04) == "85.0" and wear_text(None) == "–"


def test_trip_markup_before_and_after_figures():
    assert trip_html(None).count("–") == 4  # all but the time
    html = trip_html(TripFigures(12.345, 754.0, 58.9, 6.71, 0.828))
    for hook, text in [
        ("vehsim-trip-distance", "12.35"),
        ("vehsim-trip-time", "12:34"),
        ("vehsim-trip-average-speed", "58.9"),
        ("vehsim-trip-average-consumption", "6.7"),
        ("vehsim-trip-fuel-used", "0.83"),
    ]:
        assert hook in html and f'<span class="vehsim-value">{text}</span>' in html


def test_text_from_vehicle_files_is_escaped():
    spec = SpecSheet("<b>car</b>", 100.0, 1200.0, 1.6, 6, "manual", 6500.0)
    assert "&lt;b&gt;car&lt;/b&gt;" in spec_html(spec, "x") and "<b>" not in spec_html(spec, "x")
    assert (
        spec_html(None, "<i>")
        == '<div class="vehsim-spec-sheet"><div class="vehsim-spec-name">&lt;i&gt;</div></div>'
    )
    code = TroubleCode("P0301", "<script>", "confirmed")
    assert "<script>" not in dtc_html(DiagnosticStatus(True, (code,)))


def test_wear_markup_marks_due_parts_and_a_sped_up_wear_clock():
    html = wear_html(wear_rows({"tyre_wear_pct": 81.0, "oil_life_pct": 50.0}))
    assert 'class="vehsim-wear-row vehsim-due" data-key="tyre_wear_pct"' in html
    assert 'style="left:80%"' in html and 'style="left:10%"' in html
    assert "wear ×" not in html
    assert "wear ×50" in wear_html(wear_rows({}), wear_time_scale=50.0)
