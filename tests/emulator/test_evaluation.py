"""PredictionService.GenerateContent and Predict on tuned endpoints and
EvaluationService.EvaluateInstances, through the real PredictionServiceClient and
EvaluationServiceClient."""

from __future__ import annotations

import json

import pytest
from google.api_core import exceptions
from google.cloud import storage
from google.cloud.aiplatform_v1 import PredictionServiceClient
from google.cloud.aiplatform_v1.types import Candidate
from google.protobuf import json_format
from rouge_score import rouge_scorer

from tests.emulator.helpers import BUCKET, JOB_SECONDS, PARENT, open_model_body, tuning_body

pytestmark = pytest.mark.usefixtures("datasets")

SQL = f"gs://{BUCKET}/datasets/sql.jsonl"
SOUP = f"gs://{BUCKET}/datasets/soup.jsonl"


def _example(prompt: str, answer: str) -> dict[str, object]:
    return {"contents": [{"role": "user", "parts": [{"text": prompt}]},
                         {"role": "model", "parts": [{"text": answer}]}]}


SQL_EXAMPLES = [_example(f"List every row of table {name}", f"SELECT * FROM {name};")
                for name in ("orders", "customers", "invoices", "payments")]
SOUP_EXAMPLES = [_example(f"How do I cook soup number {n}?", f"Simmer {n} carrots for an hour.")
                 for n in range(4)]


def _tuned_endpoint(gcs: storage.Client, tuning, store, uri: str,
                    examples: list[dict[str, object]], body=tuning_body) -> str:
    """The endpoint of a run tuned on `examples` (through `tuning`, the v1 or the v1beta1
    client, with the job `body` builds)."""
    blob = gcs.bucket(BUCKET).blob(uri.removeprefix(f"gs://{BUCKET}/"))
    blob.upload_from_string("".join(json.dumps(e) + "\n" for e in examples))
    job = tuning.create_tuning_job(parent=PARENT, tuning_job=body(training=uri))
    store.advance_clock(JOB_SECONDS * 2)
    return str(tuning.get_tuning_job(name=job.name).tuned_model.endpoint)


def _ask(prediction: PredictionServiceClient, endpoint: str, text: str) -> str:
    response = prediction.generate_content(
        model=endpoint, contents=[{"role": "user", "parts": [{"text": text}]}])
    (candidate,) = response.candidates
    assert candidate.finish_reason == Candidate.FinishReason.STOP
    assert response.usage_metadata.total_token_count > 0
    return "".join(part.text for part in candidate.content.parts)


def test_a_tuned_endpoint_answers_from_its_own_training_data(gcs, tuning, store, prediction):
    sql = _tuned_endpoint(gcs, tuning, store, SQL, SQL_EXAMPLES)
    soup = _tuned_endpoint(gcs, tuning, store, SOUP, SOUP_EXAMPLES)
    assert _ask(prediction, sql, "list every row of table customers please") == (
        "SELECT * FROM customers;")
    # Deterministic, and a model tuned on unrelated data answers with what it learned.
    assert _ask(prediction, sql, "list every row of table customers please") == (
        "SELECT * FROM customers;")
    assert _ask(prediction, soup, "list every row of table customers please").startswith(
        "Simmer")


def test_generate_content_refuses_what_it_cannot_answer(gcs, tuning, store, prediction):
    with pytest.raises(exceptions.NotFound):
        prediction.generate_content(model=f"{PARENT}/endpoints/42",
                                    contents=[{"role": "user", "parts": [{"text": "hi"}]}])
    with pytest.raises(exceptions.InvalidArgument, match="publisher models are not emulated"):
        prediction.generate_content(model=f"{PARENT}/publishers/google/models/gemini-2.5-flash",
                                    contents=[{"role": "user", "parts": [{"text": "hi"}]}])
    endpoint = _tuned_endpoint(gcs, tuning, store, SQL, SQL_EXAMPLES)
    with pytest.raises(exceptions.InvalidArgument, match="contents is required"):
        prediction.generate_content(model=endpoint, contents=[])


def test_generate_content_faults_like_every_call(gcs, tuning, store, prediction):
    endpoint = _tuned_endpoint(gcs, tuning, store, SQL, SQL_EXAMPLES)
    store.set_faults(unavailable_rate=1.0)
    with pytest.raises(exceptions.ServiceUnavailable):
        _ask(prediction, endpoint, "hi")
    store.set_faults(drop_create_response_rate=1.0, seed=1)
    with pytest.raises(exceptions.ServiceUnavailable, match="response lost"):
        _ask(prediction, endpoint, "hi")
    store.set_faults()
    assert store.calls()["GenerateContent"] == 2


OPEN_SQL = [{"prompt": f"List every row of table {name}", "completion": f"SELECT * FROM {name};"}
            for name in ("orders", "customers")] + [
    {"messages": [{"role": "system", "content": "You write SQL."},
                  {"role": "user", "content": "Count the rows of table invoices"},
                  {"role": "assistant", "content": "SELECT COUNT(*) FROM invoices;"}]}]


def _predict(prediction: PredictionServiceClient, endpoint: str, instance: dict) -> object:
    response = prediction.predict(endpoint=endpoint, instances=[instance])
    assert response.deployed_model_id and response.model
    return json_format.MessageToDict(type(response).pb(response).predictions[0])


def test_a_tuned_open_models_endpoint_answers_predict_as_its_container_does(
        gcs, open_tuning, tuning, store, prediction):
    endpoint = _tuned_endpoint(gcs, open_tuning, store, SQL, OPEN_SQL, open_model_body)
    asked = {"prompt": "list every row of table customers", "max_tokens": 64,
             "temperature": 0}
    assert _predict(prediction, endpoint, {**asked, "raw_response": True}) == (
        "SELECT * FROM customers;")
    # Without raw_response the container wraps the text (Model Garden's notebooks).
    assert _predict(prediction, endpoint, asked) == (
        "Prompt:\nlist every row of table customers\nOutput:\nSELECT * FROM customers;")
    chat = _predict(prediction, endpoint, {"@requestFormat": "chatCompletions", "messages": [
        {"role": "system", "content": "You write SQL."},
        {"role": "user", "content": "count the rows of table invoices"}]})
    assert chat["choices"][0]["message"]["content"] == "SELECT COUNT(*) FROM invoices;"
    # Each method on the models that serve it only.
    with pytest.raises(exceptions.FailedPrecondition, match="does not support GenerateContent"):
        _ask(prediction, endpoint, "hi")
    gemini = _tuned_endpoint(gcs, tuning, store, SOUP, SOUP_EXAMPLES)
    with pytest.raises(exceptions.FailedPrecondition, match="does not support Predict"):
        _predict(prediction, gemini, {**asked, "raw_response": True})
    assert _ask(prediction, gemini, "How do I cook soup number 2?") == (
        "Simmer 2 carrots for an hour.")


@pytest.mark.parametrize(("instance", "message"), [
    ({"max_tokens": 8}, "instances[0] needs a prompt"),
    ({"@requestFormat": "chatCompletions", "messages": []}, "instances[0].messages must be"),
    ("just text", "instances[0] must be an object"),
], ids=["no-prompt", "no-messages", "not-an-object"])
def test_predict_refuses_what_the_container_cannot_read(gcs, open_tuning, store, prediction,
                                                        instance, message):
    endpoint = _tuned_endpoint(gcs, open_tuning, store, SQL, OPEN_SQL, open_model_body)
    with pytest.raises(exceptions.InvalidArgument, match=message.replace("[", r"\[")):
        prediction.predict(endpoint=endpoint, instances=[instance])
    with pytest.raises(exceptions.InvalidArgument, match="instances is required"):
        prediction.predict(endpoint=endpoint, instances=[])


def _instances(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"prediction": prediction, "reference": reference} for prediction, reference in pairs]


PAIRS = [("SELECT * FROM orders;", "SELECT * FROM orders;"),
         ("SELECT id FROM orders;", "SELECT * FROM orders;"),
         ("Simmer carrots.", "SELECT * FROM orders;")]


def test_exact_match_scores_each_instance_in_order(evaluation):
    response = evaluation.evaluate_instances(request={
        "location": PARENT, "exact_match_input": {"metric_spec": {},
                                                  "instances": _instances(PAIRS)}})
    assert [v.score for v in response.exact_match_results.exact_match_metric_values] == [
        1.0, 0.0, 0.0]


def test_rouge_is_google_research_rouge_score_per_instance(evaluation, store):
    request = {"location": PARENT, "rouge_input": {
        "metric_spec": {"rouge_type": "rougeL", "use_stemmer": True},
        "instances": _instances(PAIRS)}}
    scores = [v.score for v in evaluation.evaluate_instances(
        request=request).rouge_results.rouge_metric_values]
    expected = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    wanted = [expected.score(reference, prediction)["rougeL"].fmeasure
              for prediction, reference in PAIRS]
    assert scores == pytest.approx(wanted, abs=1e-6)  # scores are float on the wire
    assert scores[0] == pytest.approx(1.0) and scores[2] == pytest.approx(0.0)
    assert 0 < scores[1] < 1
    store.set_quirks(rouge_recall=True)
    recalled = [v.score for v in evaluation.evaluate_instances(
        request=request).rouge_results.rouge_metric_values]
    assert recalled[1] == pytest.approx(expected.score(PAIRS[1][1], PAIRS[1][0])[
        "rougeL"].recall, abs=1e-6)


def test_bleu_is_on_zero_to_one(evaluation):
    response = evaluation.evaluate_instances(request={
        "location": PARENT, "bleu_input": {"metric_spec": {"use_effective_order": True},
                                           "instances": _instances(PAIRS)}})
    scores = [v.score for v in response.bleu_results.bleu_metric_values]
    assert scores[0] == pytest.approx(1.0)
    assert scores[2] == pytest.approx(0.0)
    assert 0 < scores[1] < 1


@pytest.mark.parametrize(("request_body", "message"), [
    ({"rouge_input": {"metric_spec": {"rouge_type": "rougeX"},
                      "instances": _instances(PAIRS)}}, "rouge_type 'rougeX'"),
    ({"exact_match_input": {"metric_spec": {}, "instances": []}}, "instances is required"),
    ({"exact_match_input": {"metric_spec": {}, "instances": [{"prediction": "a"}]}},
     "instances[0].reference is required"),
    ({"fluency_input": {"metric_spec": {}, "instance": {"prediction": "a"}}},
     "fluency_input is not emulated"),
], ids=["rouge-type", "no-instances", "no-reference", "autorater"])
def test_evaluate_instances_refuses_bad_requests(evaluation, request_body, message):
    with pytest.raises(exceptions.InvalidArgument, match=message.replace("[", r"\[")):
        evaluation.evaluate_instances(request={"location": PARENT, **request_body})
