"""Submissions are paced under Vertex AI's request quota, per (project, region): never more
than the per-minute figure in any 60 seconds. Time is driven by a fake clock."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.apply.execute import ApplyOptions, apply
from reconciler.backends.pacing import Pacer
from reconciler.backends.vertex import VertexBackend
from reconciler.connect import emulator_state_dir
from reconciler.core.quotas import SUBMISSIONS_PER_MINUTE
from reconciler.edges.storage import Storage
from reconciler.emulator import start_emulator
from reconciler.load.config import load_target
from reconciler.output import planfile
from tests.conftest import GEMINI_CONFIG, Repo


class FakeTime:
    """A clock that moves only when the pacer sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _pacer(per_minute: int = SUBMISSIONS_PER_MINUTE) -> tuple[Pacer, FakeTime]:
    time = FakeTime()
    return Pacer(per_minute, clock=time.clock, sleep=time.sleep), time


def _times(pacer: Pacer, time: FakeTime, gaps: list[float]) -> list[float]:
    """When each submission went, one `gap` after the one before asked."""
    sent = []
    for gap in gaps:
        time.now += gap
        pacer.wait("p", "us-central1")
        sent.append(time.now)
    return sent


def test_a_burst_of_the_per_minute_figure_goes_at_once_and_the_next_a_minute_later() -> None:
    pacer, time = _pacer()
    start = time.now
    sent = _times(pacer, time, [0.0] * (2 * SUBMISSIONS_PER_MINUTE + 1))
    assert sent[:SUBMISSIONS_PER_MINUTE] == [start] * SUBMISSIONS_PER_MINUTE
    # The second burst waits until the first is a minute old (and a second's margin for the
    # network): a service counting any 60 seconds sees the quota, never more.
    second = sent[SUBMISSIONS_PER_MINUTE:2 * SUBMISSIONS_PER_MINUTE]
    assert second == [pytest.approx(start + 61.0)] * SUBMISSIONS_PER_MINUTE
    assert sent[-1] == pytest.approx(start + 122.0)


@settings(max_examples=200, deadline=None)
@given(per_minute=st.integers(1, 5),
       gaps=st.lists(st.floats(0, 90, allow_nan=False), min_size=1, max_size=40))
def test_no_sixty_seconds_ever_hold_more_than_the_quota(per_minute: int,
                                                        gaps: list[float]) -> None:
    pacer, time = _pacer(per_minute)
    sent = _times(pacer, time, gaps)
    assert all(later - earlier >= 60.0 for earlier, later in
               zip(sent, sent[per_minute:], strict=False))
    # And it never waits for nothing: a submission goes at once while the last minute
    # holds fewer than the quota.
    for index, (gap, at) in enumerate(zip(gaps, sent, strict=True)):
        asked = (sent[index - 1] if index else 1000.0) + gap
        recent = [earlier for earlier in sent[:index] if earlier > asked - 61.0]
        if len(recent) < per_minute:
            assert at == asked


def test_each_region_and_each_project_has_its_own_rate() -> None:
    pacer, time = _pacer(2)
    for place in (("p", "us-central1"), ("p", "europe-west4"), ("q", "us-central1")):
        pacer.wait(*place)
        pacer.wait(*place)
    assert time.slept == []
    pacer.wait("p", "us-central1")
    assert time.slept == [pytest.approx(61.0)]


def test_an_idle_minute_frees_only_the_per_minute_figure() -> None:
    pacer, time = _pacer(2)
    time.now += 3600
    for _ in range(3):
        pacer.wait("p", "us-central1")
    assert time.slept == [pytest.approx(61.0)]


def test_the_rate_is_a_setting_and_is_validated(repo: Repo) -> None:
    repo.edit("configs/reconciler.yaml", "region:", "requests_per_minute: {submissions: 0}\n"
              "region:")
    result = repo.run("validate")
    assert result.code == 1
    assert "reconciler.yaml:" in result.err and "submissions" in result.err
    repo.edit("configs/reconciler.yaml", "{submissions: 0}", "{submissions: 30}")
    assert repo.run("validate").code == 0


def test_a_paced_apply_is_never_refused_by_a_service_that_counts_any_minute(gemini: Repo) -> None:
    """Five Gemini creates in one region, against an emulator that refuses a third
    submission in any 60 seconds: apply, paced on the emulator's clock, makes each with one
    CreateTuningJob and is refused none (a token bucket of the same rate was refused)."""
    text = (gemini.root / GEMINI_CONFIG).read_text()
    for number in range(4):
        gemini.write(f"configs/gemini-{number}.yaml",
                     text.replace("name: bigquery-gemini", f"name: gemini-{number}"))
    assert gemini.run("plan", "--out", str(gemini.root / "plan.json")).code == 0
    planned = planfile.read(gemini.root / "plan.json")
    target = load_target(gemini.root)
    with start_emulator(emulator_state_dir(gemini.root)) as emulator:
        store = emulator.store
        store.set_submission_rate(2)
        store.reset_calls()
        start = store.now()
        storage = Storage.connect(target.project, emulator.storage_endpoint)
        backend = VertexBackend(target.project, emulator.api_endpoint, bucket=storage,
                                staging=target.staging_bucket,
                                pacer=Pacer(2, clock=store.now, sleep=store.advance_clock))
        try:
            # One thread: the pacer's sleeps move the emulator's clock for every thread, so
            # with several a clock could jump between a submission's turn and its arrival,
            # which no network delay does.
            outcomes = apply(planned, backend, storage, gemini.root, ApplyOptions(parallelism=1))
        finally:
            backend.close()
        assert [outcome.result for outcome in outcomes] == ["launched"] * 5
        assert store.calls()["CreateTuningJob"] == 5
        # Two a minute: the fifth went two minutes (and their margins) after the first.
        assert store.now() - start >= 2 * 61
