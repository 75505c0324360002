"""The diagnosis and coaching panel in both modes: connected mode folds vehsim score's events,
local mode scores its own readings with a ``vehsim.scorers`` plug-in (here stand-ins), and the
panel says plainly when there is nothing to score with."""

from __future__ import annotations

import json
import threading

import pytest

from vehsim import events as ev
from vehsim.errors import VehsimError
from vehsim.ui import scoring
from vehsim.ui.advice import NO_ADVICE, AdvicePanel, AdviceRow, advice_rows, apply_advice_event
from vehsim.ui.panels import advice_html
from vehsim.ui.scoring import LocalAdvisor, ScorerUnavailable

from .fakes import FakeFleet, FakeSimulator, fake_parse, fake_payload

MISFIRE = "misfire_cylinder_1"


def prediction(car="car-a", fault=MISFIRE, probability=0.93, end_s=130.0, run="run-1"):
    payload = {
        "fault": fault, "probability": probability, "model": "vehsim-fault", "model_version": "3",
        "source_run_id": run, "window_start_s": max(end_s - 60.0, 0.0), "window_end_s": end_s,
        "window_end": None, "telemetry_emitted_at": "2026-11-30T08:02:10.000000Z",
    }  # fmt: skip
    return ev.make_event(ev.DIAGNOSTIC_PREDICTION, car, "score-run", 0, end_s, payload)


def coaching(car="car-a", end_s=120.0):
    payload = {
        "advice": "harsh acceleration: about 11 % more fuel on this trip",
        "habit": "harsh_acceleration", "excess_fuel_pct": 11.1, "basis": "rule",
        "source_run_id": "run-1", "window_end_s": end_s, "window_end": None,
        "trip_distance_km": 1.2, "harsh_accel_count": 4, "harsh_brake_count": 1,
    }  # fmt: skip
    return ev.make_event(ev.DRIVER_COACHING, car, "score-run", 1, end_s, payload)


class FakeScorer:
    """Scores like ``vehsim score`` without models: every ``every``-th reading of a car run
    closes a window, and the window gets a ``diagnostic.prediction`` naming ``fault``."""

    def __init__(self, fault: str = MISFIRE, every: int = 10):
        self.fault = fault
        self.every = every
        self.fed: list[dict] = []

    def feed(self, value):
        self.fed.append(json.loads(value))

    def score(self):
        last = self.fed[-1]
        if len(self.fed) % self.every:
            return []
        event = prediction(last["vehicle_id"], self.fault, 0.9, last["sim_time_s"], last["run_id"])
        return [event, {"event_type": "simulation.raw", "vehicle_id": last["vehicle_id"]}]


def local_source(scorer, vehicle="compact-sedan"):
    from vehsim.ui.sources import LocalSource

    return LocalSource(
        vehicle,
        make_simulator=FakeSimulator,
        payload=fake_payload,
        parse_command=fake_parse,
        scorer=scorer,
    )


# --- the panel's text -------------------------------------------------------------------------
def test_a_note_says_why_the_panel_is_empty_until_there_is_advice():
    panel = AdvicePanel(note=("No champion model", "run vehsim experiment fault"))
    assert advice_rows(panel) == [
        AdviceRow(
            "diagnosis", "Diagnosis", "No champion model", "run vehsim experiment fault", "info"
        )
    ]
    diagnosed = apply_advice_event(panel, prediction())
    assert [r.text for r in advice_rows(diagnosed)] == ["Misfire cylinder 1 (P0301)"]


def test_the_panel_markup_has_stable_hooks_and_escapes_text():
    panel = apply_advice_event(apply_advice_event(NO_ADVICE, prediction()), coaching())
    html = advice_html(panel)
    assert html.count('class="vehsim-advice-row') == 2
    assert (
        '<div class="vehsim-advice-row vehsim-advice-diagnosis vehsim-level-alert">'
        '<span class="vehsim-item-label">Diagnosis</span>'
        '<span class="vehsim-advice-text">Misfire cylinder 1 (P0301)</span>'
        '<span class="vehsim-advice-detail">93 % · vehsim-fault v3 · window to 2:10</span></div>'
    ) in html
    assert "vehsim-advice-coaching vehsim-level-warn" in html
    assert "harsh acceleration: about 11 % more fuel on this trip" in html
    odd = advice_html(AdvicePanel(note=("<b>no</b>", "a & b")))
    assert "&lt;b&gt;no&lt;/b&gt;" in odd and "a &amp; b" in odd and "<b>" not in odd


# --- connected mode ---------------------------------------------------------------------------
class _Follower:
    """Stands in for the Kafka follower: the test hands events to ``on_event``."""

    last: _Follower | None = None

    def __init__(self, settings, bootstrap, on_event, buffer_size):
        self.on_event = on_event
        _Follower.last = self

    def start(self, wait_s=0):
        return self

    def close(self):
        pass


@pytest.fixture
def connected(vehsim_env, monkeypatch):
    from vehsim.ui import kafka_link

    monkeypatch.setattr(kafka_link, "TelemetryFollower", _Follower)
    source = kafka_link.ConnectedSource(bootstrap="127.0.0.1:9")
    yield source, _Follower.last.on_event
    source.close()


def test_connected_mode_folds_the_followed_cars_predictions_and_coaching(connected):
    source, deliver = connected
    assert source.advice() == NO_ADVICE  # nothing seen yet
    deliver(ev.make_event(ev.SIMULATION_RAW, "car-a", "run-1", 0, 0.0, {"engine_on": True}))
    deliver(prediction("car-a", end_s=130.0))
    deliver(coaching("car-a"))
    deliver(prediction("car-b", "vacuum_leak"))
    deliver(prediction("car-a", "none", end_s=120.0))  # an older window: not shown
    deliver({"event_type": ev.DIAGNOSTIC_PREDICTION, "vehicle_id": "car-a", "payload": "x"})
    assert source.vehicle_id == "car-a"
    panel = source.advice()
    assert panel.diagnosis.fault == MISFIRE and panel.coaching.habit == "harsh_acceleration"
    assert [r.kind for r in advice_rows(panel)] == ["diagnosis", "coaching"]
    source.follow("car-b")
    assert source.advice().diagnosis.fault == "vacuum_leak"
    assert source.advice().coaching is None


# --- local mode -------------------------------------------------------------------------------
def test_local_mode_scores_its_own_readings():
    scorer = FakeScorer(every=10)
    source = local_source(scorer)
    assert advice_rows(source.advice())[0].text == "No diagnosis yet"
    source.send({"type": "start_engine"})
    for _ in range(9):
        source.advance(1.0)
    assert source.advice().diagnosis is None
    source.advance(1.0)
    panel = source.advice()
    assert panel.diagnosis.fault == MISFIRE and panel.diagnosis.window_end_s == pytest.approx(10.0)
    # what the scorer was fed: the simulation.raw events a car would publish, one run, in order
    fed = scorer.fed
    assert {e["event_type"] for e in fed} == {ev.SIMULATION_RAW}
    assert [e["seq"] for e in fed] == list(range(10)) and len({e["run_id"] for e in fed}) == 1
    assert fed[-1]["payload"] == source.reading().payload
    assert list(source.advisor.events)[0]["event_type"] == ev.DIAGNOSTIC_PREDICTION
    # another car starts a new run with an empty panel
    source.follow("pickup-v8")
    assert source.advice().diagnosis is None
    source.advance(1.0)
    assert (
        scorer.fed[-1]["vehicle_id"] == "pickup-v8" and scorer.fed[-1]["run_id"] != fed[0]["run_id"]
    )


def test_polling_scores_each_reading_the_dashboard_shows():
    scorer = FakeScorer(every=3)
    source = local_source(scorer)
    shown = [s for t in (100.0, 100.1, 100.2) for s in source.poll(t)]
    assert [round(e["sim_time_s"], 2) for e in scorer.fed] == [
        round(s.sim_time_s, 2) for s in shown
    ]
    assert source.advice().diagnosis.fault == MISFIRE


def test_the_dashboard_shows_the_panel_in_both_modes():
    from vehsim.ui.dashboard import Dashboard

    fleet = FakeFleet(["car-a"])
    dash = Dashboard(fleet, autostart=False, unwatched_after_s=None)
    assert "No diagnosis yet" in dash.advice_panel.value
    assert "vehsim-advice" in dash.widget.children[3].children[-1]._dom_classes
    fleet.panels["car-a"] = apply_advice_event(NO_ADVICE, prediction())
    fleet.publish(1.0, fake_payload(FakeSimulator().snapshot(), 0))
    dash.tick(0.0)
    assert "Misfire cylinder 1 (P0301)" in dash.advice_panel.value

    local = Dashboard(local_source(FakeScorer(every=5)), autostart=False, unwatched_after_s=None)
    local.run_for(1.0, sample_every_s=0.1)
    assert "Misfire cylinder 1 (P0301)" in local.advice_panel.value
    local.stop()


def test_without_a_champion_the_panel_says_what_to_run_and_tries_again_later():
    now = [0.0]
    calls = []

    def no_champion():
        calls.append(now[0])
        raise ScorerUnavailable("no champion model", "run vehsim experiment fault")

    advisor = LocalAdvisor(no_champion, retry_s=60.0, clock=lambda: now[0])
    assert not advisor.wait_ready(5.0)
    (row,) = advice_rows(advisor.panel())
    assert (row.text, row.detail) == ("No champion model", "run vehsim experiment fault")
    advisor.new_run("car-a")
    advisor.offer(1.0, {"engine_on": True})  # not yet time to try again
    assert calls == [0.0]
    now[0] = 61.0
    advisor.offer(2.0, {"engine_on": True})
    advisor.wait_ready(5.0)
    assert calls == [0.0, 61.0]


def test_a_broken_plugin_or_model_is_reported_never_raised():
    advisor = LocalAdvisor(lambda: 1 / 0)
    assert not advisor.wait_ready(5.0)
    row = advice_rows(advisor.panel())[0]
    assert row.text == "Scoring unavailable" and "ZeroDivisionError" not in row.text
    assert "division by zero" in row.detail

    class Breaks(FakeScorer):
        def score(self):
            raise RuntimeError("model exploded")

    advisor = LocalAdvisor(Breaks(), clock=lambda: 0.0)
    advisor.new_run("car-a")
    advisor.offer(0.0, {"engine_on": True})  # no exception
    row = advice_rows(advisor.panel())[0]
    assert (row.text, row.detail) == ("Scoring failed", "RuntimeError: model exploded")
    assert not advisor.ready
    with pytest.raises(VehsimError, match="scorer must be"):
        LocalAdvisor(42)


def test_no_scorer_says_scoring_is_off():
    (row,) = advice_rows(local_source(None).advice())
    assert row.text == "Live scoring off"


class _Plugin:
    def __init__(self, name, target):
        self.name, self._target = name, target

    def load(self):
        if isinstance(self._target, Exception):
            raise self._target
        return self._target


def test_auto_loads_the_first_installed_plugin_on_a_thread(monkeypatch):
    threads = []

    def factory(settings):
        threads.append(threading.current_thread().name)
        return FakeScorer(every=2)

    plugins = [_Plugin("zz-other", ImportError("no module named nothing")), _Plugin("champion", factory)]  # fmt: skip
    monkeypatch.setattr(scoring, "entry_points", lambda group: plugins if group == scoring.SCORER_GROUP else [])  # fmt: skip
    source = local_source("auto")
    assert source.advisor.wait_ready(10.0)
    assert threads == ["vehsim-ui-scorer"]
    source.advance(1.0)
    source.advance(1.0)
    assert source.advice().diagnosis.fault == MISFIRE

    monkeypatch.setattr(scoring, "entry_points", lambda group: [])
    with pytest.raises(ScorerUnavailable, match="no scorer installed"):
        scoring.installed_scorer()
    monkeypatch.setattr(scoring, "entry_points", lambda group: plugins[:1])
    with pytest.raises(ScorerUnavailable, match="no scorer loads: zz-other"):
        scoring.installed_scorer()


def test_the_champion_plugin_without_a_store_says_no_champion_and_creates_nothing(vehsim_env):
    from importlib.metadata import entry_points

    from vehsim.config import load_settings

    (plugin,) = [p for p in entry_points(group=scoring.SCORER_GROUP) if p.name == "champion"]
    settings = load_settings()
    with pytest.raises(ScorerUnavailable) as caught:
        plugin.load()(settings)
    assert str(caught.value) == "no champion model: run vehsim experiment fault"
    assert not settings.home.exists() or not any(settings.home.iterdir())
    source = local_source("auto")
    assert not source.advisor.wait_ready(30.0)
    (row,) = advice_rows(source.advice())
    assert (row.text, row.detail) == ("No champion model", "run vehsim experiment fault")


@pytest.mark.integration
def test_connected_mode_shows_what_vehsim_score_published_on_the_broker(kafka_broker):
    """The real follower hands the scorer's events on the telemetry topic to the panel."""
    import dataclasses
    import time
    import uuid

    from kafka import KafkaProducer

    from vehsim.stream.broker import ensure_topics
    from vehsim.ui.kafka_link import ConnectedSource

    settings = dataclasses.replace(
        kafka_broker.settings, topic_prefix=f"advice-{uuid.uuid4().hex[:8]}."
    )
    ensure_topics(settings, kafka_broker.bootstrap)
    source = ConnectedSource(settings, bootstrap=kafka_broker.bootstrap)
    try:
        assert source.wait_following(20)
        producer = KafkaProducer(bootstrap_servers=kafka_broker.bootstrap)
        raw = ev.make_event(ev.SIMULATION_RAW, "car-a", "run-1", 0, 130.0, {"engine_on": True})
        for event in (raw, prediction("car-a"), coaching("car-a")):
            producer.send(settings.telemetry_topic, key=b"car-a", value=json.dumps(event).encode())
        producer.flush()
        producer.close()
        deadline = time.monotonic() + 15
        while source.advice().coaching is None and time.monotonic() < deadline:
            time.sleep(0.05)
        texts = [r.text for r in advice_rows(source.advice())]
        assert texts == [
            "Misfire cylinder 1 (P0301)",
            "harsh acceleration: about 11 % more fuel on this trip",
        ]
    finally:
        source.close()
