"""List order, page tokens under concurrent creates, read_mask and order_by."""

from __future__ import annotations

import pytest
from google.api_core import exceptions
from google.cloud.aiplatform_v1.types import PipelineState

from tests.emulator.helpers import JOB_SECONDS, PARENT, job_body

pytestmark = pytest.mark.usefixtures("datasets")

# What the product's backend asks for (backends/vertex.py).
PRODUCT_MASK = ["name", "state", "labels", "create_time", "runtime_config", "template_uri", "error"]


def _create(pipelines, store, job_id):
    pipelines.create_pipeline_job(parent=PARENT, pipeline_job=job_body(), pipeline_job_id=job_id)
    store.advance_clock(0.001)


def test_creating_between_pages_never_skips_or_repeats(pipelines, store):
    for i in range(5):
        _create(pipelines, store, f"old-{i}")
    seen: list[str] = []
    # The pager fetches each next page lazily, so every page request follows a create.
    pages = pipelines.list_pipeline_jobs(request={"parent": PARENT, "page_size": 2}).pages
    for page in pages:
        seen += [j.name.rsplit("/", 1)[1] for j in page.pipeline_jobs]
        # New jobs sort before the cursor (newest first), so they never enter later pages.
        _create(pipelines, store, f"new-{len(seen)}")
    assert seen == ["old-4", "old-3", "old-2", "old-1", "old-0"]


def test_list_rpcs_scale_with_pages_not_items(pipelines, store):
    for i in range(12):
        _create(pipelines, store, f"j-{i}")
    store.reset_calls()
    pager = pipelines.list_pipeline_jobs(request={"parent": PARENT, "page_size": 5})
    assert [len(p.pipeline_jobs) for p in pager.pages] == [5, 5, 2]
    assert store.calls() == {"ListPipelineJobs": 3}


def test_read_mask_keeps_only_the_named_fields(pipelines, store):
    body = job_body(labels={"app": "tuneops"}, display_name="masked")
    created = pipelines.create_pipeline_job(
        parent=PARENT, pipeline_job=body, pipeline_job_id="masked"
    )
    store.advance_clock(JOB_SECONDS * 2)
    done = pipelines.get_pipeline_job(name=created.name)

    [listed] = pipelines.list_pipeline_jobs(
        request={"parent": PARENT, "read_mask": {"paths": PRODUCT_MASK}}
    )
    assert listed.name == done.name
    assert listed.state == PipelineState.PIPELINE_STATE_SUCCEEDED
    assert listed.labels == done.labels
    assert listed.create_time == done.create_time
    assert listed.runtime_config == done.runtime_config
    assert listed.template_uri == done.template_uri
    # Not asked for: left out.
    for field in ("display_name", "end_time", "start_time", "update_time", "job_detail"):
        assert field not in listed

    [only_state] = pipelines.list_pipeline_jobs(
        request={"parent": PARENT, "read_mask": {"paths": ["state"]}}
    )
    assert only_state.name == done.name  # always there
    assert "labels" not in only_state
    assert only_state.state == PipelineState.PIPELINE_STATE_SUCCEEDED


def test_unknown_read_mask_path_is_invalid_argument(pipelines):
    with pytest.raises(exceptions.InvalidArgument, match="read_mask"):
        list(
            pipelines.list_pipeline_jobs(
                request={"parent": PARENT, "read_mask": {"paths": ["name", "no_such_field"]}}
            )
        )


def test_order_by_only_the_default(pipelines, store):
    for i in range(2):
        _create(pipelines, store, f"o-{i}")
    ids = [
        j.name.rsplit("/", 1)[1]
        for j in pipelines.list_pipeline_jobs(
            request={"parent": PARENT, "order_by": "create_time desc"}
        )
    ]
    assert ids == ["o-1", "o-0"]
    with pytest.raises(exceptions.InvalidArgument, match="order_by"):
        list(pipelines.list_pipeline_jobs(request={"parent": PARENT, "order_by": "end_time"}))
