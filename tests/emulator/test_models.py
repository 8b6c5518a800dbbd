"""ModelService through the real GAPIC client."""

from __future__ import annotations

import pytest
from google.api_core import exceptions
from google.protobuf import field_mask_pb2

from reconciler.emulator.models import Endpoints, Models
from tests.emulator.helpers import JOB_SECONDS, PARENT, job_body

pytestmark = pytest.mark.usefixtures("datasets")


@pytest.fixture
def tuned(pipelines, models, store):
    """Three registered models, created in order m0, m1, m2."""
    for i in range(3):
        pipelines.create_pipeline_job(
            parent=PARENT,
            pipeline_job=job_body(
                labels={"app": "tuneops", "n": str(i)}, model_display_name=f"m{i}"
            ),
            pipeline_job_id=f"j{i}",
        )
        store.advance_clock(1)
    store.advance_clock(JOB_SECONDS)
    return sorted(models.list_models(parent=PARENT), key=lambda m: m.display_name)


def test_list_models_filters_and_paginates(models, tuned):
    assert [m.display_name for m in models.list_models(parent=PARENT)] == ["m2", "m1", "m0"]
    pager = models.list_models(request={"parent": PARENT, "page_size": 2})
    assert [[m.display_name for m in page.models] for page in pager.pages] == [["m2", "m1"], ["m0"]]
    assert [
        m.display_name
        for m in models.list_models(request={"parent": PARENT, "filter": 'labels.n="1"'})
    ] == ["m1"]
    assert [
        m.display_name
        for m in models.list_models(
            request={"parent": PARENT, "filter": 'display_name!="m1" AND labels.app:*'}
        )
    ] == ["m2", "m0"]
    with pytest.raises(exceptions.InvalidArgument, match="'state' is not filterable"):
        list(
            models.list_models(request={"parent": PARENT, "filter": "state=PIPELINE_STATE_RUNNING"})
        )


def test_update_model_with_field_mask(models, tuned):
    target = tuned[0]
    patch = {
        "name": target.name,
        "display_name": "renamed",
        "description": "d",
        "labels": {"app": "tuneops", "new": "yes"},
    }
    updated = models.update_model(
        model=patch, update_mask=field_mask_pb2.FieldMask(paths=["display_name", "labels"])
    )
    assert updated.display_name == "renamed"
    assert updated.description == ""  # not in the mask
    assert dict(updated.labels) == {"app": "tuneops", "new": "yes"}
    assert updated.update_time > target.update_time
    assert models.get_model(name=target.name) == updated

    with pytest.raises(exceptions.InvalidArgument, match="artifact_uri cannot be updated"):
        models.update_model(
            model=patch, update_mask=field_mask_pb2.FieldMask(paths=["artifact_uri"])
        )
    with pytest.raises(exceptions.InvalidArgument, match="update_mask is required"):
        models.update_model(model=patch, update_mask=field_mask_pb2.FieldMask())
    with pytest.raises(exceptions.InvalidArgument, match="invalid label key"):
        models.update_model(
            model={"name": target.name, "labels": {"Bad": "x"}},
            update_mask=field_mask_pb2.FieldMask(paths=["labels"]),
        )


def test_delete_model_lro(models, endpoints, tuned, store):
    target = tuned[1]
    # Tuned models come deployed; the real DeleteModel refuses those, naming the endpoints.
    [ref] = target.deployed_models
    with pytest.raises(exceptions.FailedPrecondition, match=f"deployed .*{ref.endpoint}"):
        models.delete_model(name=target.name)
    endpoints.undeploy_model(
        endpoint=ref.endpoint, deployed_model_id=ref.deployed_model_id
    ).result(timeout=10)
    store.reset_calls()
    operation = models.delete_model(name=target.name)
    assert operation.result(timeout=10) is not None  # Empty
    assert operation.done()
    with pytest.raises(exceptions.NotFound):
        models.get_model(name=target.name)
    with pytest.raises(exceptions.NotFound):
        models.delete_model(name=target.name)
    assert [m.display_name for m in models.list_models(parent=PARENT)] == ["m2", "m0"]

    # The operation is also pollable, as LRO clients expect.
    polled = models._transport.operations_client.get_operation(operation.operation.name)
    assert polled.done


def test_unknown_model_is_not_found(models):
    with pytest.raises(exceptions.NotFound):
        models.get_model(name=f"{PARENT}/models/42")
    with pytest.raises(exceptions.InvalidArgument, match="invalid model name"):
        models.get_model(name=f"{PARENT}/models/not-numeric")


def test_outside_edits_for_drift_tests(models, tuned, store):
    Models(store).edit_outside(tuned[0].name, display_name="console-edit", labels={"x": "y"})
    # A console user must undeploy before deleting; the helper does both, like they would.
    Models(store).delete_outside(tuned[2].name)
    listed = [(m.display_name, dict(m.labels)) for m in models.list_models(parent=PARENT)]
    assert [name for name, _ in listed] == ["m1", "console-edit"]
    assert listed[0][1].items() >= {"app": "tuneops", "n": "1"}.items()
    assert listed[1][1] == {"x": "y"}
    [endpoint] = [e for e in Endpoints(store).all() if e.display_name == "m2"]
    assert list(endpoint.deployed_models) == []
    assert "UpdateModel" not in store.calls()
    assert "UndeployModel" not in store.calls()
