"""backends.calls: which errors are retried."""

from __future__ import annotations

from google.api_core import exceptions

from reconciler.backends.calls import retry_policy


def test_message_too_large_is_not_retried_but_quota_is() -> None:
    predicate = retry_policy()._predicate
    assert predicate(exceptions.ResourceExhausted("Quota exceeded for tuning jobs"))
    assert predicate(exceptions.ServiceUnavailable("try again"))
    assert not predicate(exceptions.ResourceExhausted(
        "Received message larger than max (52428900 vs. 4194304)"))
    assert not predicate(exceptions.InvalidArgument("bad"))
