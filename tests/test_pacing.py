"""Submissions are paced under Vertex AI's request quota, per (project, region): a burst of
the per-minute figure, then that many a minute. Time is driven by a fake clock."""

from __future__ import annotations

import pytest

from reconciler.backends.pacing import Pacer
from reconciler.core.quotas import SUBMISSIONS_PER_MINUTE
from tests.conftest import Repo


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


def test_a_burst_of_the_per_minute_figure_goes_at_once_and_the_rest_is_paced() -> None:
    pacer, time = _pacer()
    for _ in range(SUBMISSIONS_PER_MINUTE):
        pacer.wait("p", "us-central1")
    assert time.slept == []
    start = time.now
    for _ in range(SUBMISSIONS_PER_MINUTE):
        pacer.wait("p", "us-central1")
    # The next minute's worth comes one per second: never more than the quota in a minute.
    assert time.now - start == pytest.approx(60.0)
    assert all(seconds == pytest.approx(1.0) for seconds in time.slept)


def test_each_region_and_each_project_has_its_own_rate() -> None:
    pacer, time = _pacer(2)
    for place in (("p", "us-central1"), ("p", "europe-west4"), ("q", "us-central1")):
        pacer.wait(*place)
        pacer.wait(*place)
    assert time.slept == []
    pacer.wait("p", "us-central1")
    assert time.slept == [pytest.approx(30.0)]


def test_an_idle_bucket_refills_only_up_to_the_burst() -> None:
    pacer, time = _pacer(2)
    time.now += 3600
    for _ in range(3):
        pacer.wait("p", "us-central1")
    assert time.slept == [pytest.approx(30.0)]


def test_the_rate_is_a_setting_and_is_validated(repo: Repo) -> None:
    repo.edit("configs/reconciler.yaml", "region:", "requests_per_minute: {submissions: 0}\n"
              "region:")
    result = repo.run("validate")
    assert result.code == 1
    assert "reconciler.yaml:" in result.err and "submissions" in result.err
    repo.edit("configs/reconciler.yaml", "{submissions: 0}", "{submissions: 30}")
    assert repo.run("validate").code == 0
