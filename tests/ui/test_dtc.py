"""The check-engine lamp and codes from the simulator and from diagnostic.dtc events agree."""

from vehsim.diagnostics import DtcChange
from vehsim.ui.dtc import NO_CODES, apply_dtc_event, status_from_payload, status_from_simulator


def test_from_the_simulator_confirmed_first_with_descriptions():
    status = status_from_simulator({"mil_on": True, "confirmed": ["P0301"], "pending": ["P0128"]})
    assert status.mil_on
    assert [(c.code, c.status) for c in status.codes] == [
        ("P0301", "confirmed"),
        ("P0128", "pending"),
    ]
    assert status.codes[0].description == "Cylinder 1 misfire detected"
    assert status_from_simulator({"mil_on": False, "confirmed": [], "pending": []}) == NO_CODES


def test_events_walk_a_code_through_its_life():
    events = [
        DtcChange(0, "P0301", "pending", 80.0, False).payload(),
        DtcChange(0, "P0301", "confirmed", 160.0, True).payload(),
        DtcChange(0, "P0171", "pending", 170.0, True).payload(),
    ]
    status = NO_CODES
    for payload in events:
        status = apply_dtc_event(status, payload)
    assert status == status_from_simulator(
        {"mil_on": True, "confirmed": ["P0301"], "pending": ["P0171"]}
    )
    status = apply_dtc_event(status, DtcChange(0, "P0171", "cleared", 900.0, True).payload())
    assert [c.code for c in status.codes] == ["P0301"]
    status = apply_dtc_event(status, DtcChange(0, "P0301", "mil_off", 2000.0, False).payload())
    assert not status.mil_on and [c.code for c in status.codes] == ["P0301"]  # still stored


def test_odd_events_change_nothing_they_do_not_say():
    status = status_from_simulator({"mil_on": True, "confirmed": ["P0301"], "pending": []})
    assert apply_dtc_event(status, {"status": "confirmed"}) == status
    assert apply_dtc_event(status, {"code": "P0301", "status": "exploded"}) == status
    unknown = apply_dtc_event(NO_CODES, {"code": "P1234", "status": "pending", "mil_on": False})
    assert unknown.codes[0].code == "P1234" and unknown.codes[0].description == ""


def test_from_the_payload_when_it_carries_the_controllers_view():
    payload = {"mil_on": True, "dtc_confirmed": ["P0217"], "dtc_pending": ["P0128"]}
    assert status_from_payload(payload) == status_from_simulator(
        {"mil_on": True, "confirmed": ["P0217"], "pending": ["P0128"]}
    )
    assert status_from_payload({"mil_on": False, "dtc_confirmed": []}) == NO_CODES
    assert status_from_payload({"engine_rpm": 800.0}) is None  # an older producer
    assert status_from_payload({"mil_on": "yes", "dtc_confirmed": []}) is None
