"""ModelService through the real GAPIC client."""

from __future__ import annotations

import pytest
from google.api_core import exceptions
from google.protobuf import field_mask_pb2

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
    return list(models.list_models(parent=PARENT))


def test_list_models_filters_and_paginates(models, tuned):
    assert [m.display_name for m in tuned] == ["m0", "m1", "m2"]
    pager = models.list_models(request={"parent": PARENT, "page_size": 2})
    assert [[m.display_name for m in page.models] for page in pager.pages] == [["m0", "m1"], ["m2"]]
    assert [
        m.display_name
        for m in models.list_models(request={"parent": PARENT, "filter": 'labels.n="1"'})
    ] == ["m1"]
    assert [
        m.display_name
        for m in models.list_models(
            request={"parent": PARENT, "filter": 'display_name!="m1" AND labels.app:*'}
        )
    ] == ["m0", "m2"]
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


def test_delete_model_lro(models, tuned, store):
    target = tuned[1]
    store.reset_calls()
    operation = models.delete_model(name=target.name)
    assert operation.result(timeout=10) is not None  # Empty
    assert operation.done()
    with pytest.raises(exceptions.NotFound):
        models.get_model(name=target.name)
    with pytest.raises(exceptions.NotFound):
        models.delete_model(name=target.name)
    assert [m.display_name for m in models.list_models(parent=PARENT)] == ["m0", "m2"]

    # The operation is also pollable, as LRO clients expect.
    polled = models._transport.operations_client.get_operation(operation.operation.name)
    assert polled.done


def test_unknown_model_is_not_found(models):
    with pytest.raises(exceptions.NotFound):
        models.get_model(name=f"{PARENT}/models/42")
    with pytest.raises(exceptions.InvalidArgument, match="invalid model name"):
        models.get_model(name=f"{PARENT}/models/not-numeric")


def test_outside_edits_for_drift_tests(models, tuned, store):
    store.edit_model_outside(tuned[0].name, display_name="console-edit", labels={"x": "y"})
    store.delete_model_outside(tuned[2].name)
    assert [(m.display_name, dict(m.labels)) for m in models.list_models(parent=PARENT)] == [
        ("console-edit", {"x": "y"}),
        ("m1", {"app": "tuneops", "n": "1"}),
    ]
    assert "UpdateModel" not in store.calls()
