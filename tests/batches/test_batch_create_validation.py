"""Creating a batch in this process: every malformed body is a 400 naming the field and creates nothing;
the input file must be the account's own and of purpose ``batch``."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from batches.models import Batch
from tests.api.inprocess import api_client, new_key, post_json

pytestmark = pytest.mark.django_db

LINE = json.dumps({"custom_id": "a", "method": "POST", "url": "/v1/reflex/predict", "body": {"model": "jailbreak", "text": "hi"}})


def _file(client, purpose: str = "batch") -> str:
    response = client.post("/v1/files", {"file": SimpleUploadedFile("in.jsonl", LINE.encode() + b"\n"), "purpose": purpose})
    assert response.status_code == 200, response.content
    return response.json()["id"]


def _body(file_id: str, **changes) -> dict:
    return {"input_file_id": file_id, "endpoint": "/v1/reflex/predict", "completion_window": "24h", **changes}


def test_a_batch_starts_validating_with_its_counts_at_zero():
    client = api_client(new_key())
    response = post_json(client, "/v1/batches", _body(_file(client), metadata={"team": "support"}))
    assert response.status_code == 200, response.content
    batch = response.json()
    assert batch["object"] == "batch" and batch["status"] == "validating" and batch["id"].startswith("batch_")
    assert batch["request_counts"] == {"total": 0, "completed": 0, "failed": 0} and batch["metadata"] == {"team": "support"}
    assert batch["expires_at"] - batch["created_at"] == 24 * 3600 and batch["output_file_id"] is None


@pytest.mark.parametrize(
    ("changes", "param", "status"),
    [
        ({"endpoint": "/v1/chat/completions"}, "endpoint", 400),
        ({"endpoint": None}, "endpoint", 400),
        ({"completion_window": "1h"}, "completion_window", 400),
        ({"input_file_id": 7}, "input_file_id", 400),
        ({"input_file_id": "file-missing"}, "input_file_id", 404),
        ({"metadata": {"k": 1}}, "metadata.k", 400),
        ({"metadata": "x"}, "metadata", 400),
        ({"priority": "high"}, "priority", 400),
    ],
)
def test_a_bad_create_body_is_an_error_naming_the_field_and_creates_nothing(changes: dict, param: str, status: int):
    client = api_client(new_key())
    response = post_json(client, "/v1/batches", _body(_file(client), **changes))
    assert response.status_code == status, response.content
    assert response.json()["error"]["param"] == param
    assert not Batch.objects.exists()


def test_the_input_file_must_be_a_batch_file_of_the_account():
    owner, stranger = api_client(new_key()), api_client(new_key())
    error = post_json(owner, "/v1/batches", _body(_file(owner, purpose="fine-tune"))).json()["error"]
    assert error["code"] == "invalid_file_purpose" and error["param"] == "input_file_id"
    assert post_json(stranger, "/v1/batches", _body(_file(owner))).status_code == 404
    assert not Batch.objects.exists()


def test_another_accounts_batch_is_a_404_and_an_ended_batch_cannot_be_cancelled():
    owner, stranger = api_client(new_key()), api_client(new_key())
    batch_id = post_json(owner, "/v1/batches", _body(_file(owner))).json()["id"]
    assert stranger.get(f"/v1/batches/{batch_id}").status_code == 404
    assert post_json(stranger, f"/v1/batches/{batch_id}/cancel", {}).status_code == 404
    assert stranger.get("/v1/batches").json()["data"] == []
    assert owner.post(f"/v1/batches/{batch_id}/cancel").json()["status"] == "cancelling"
    assert owner.post(f"/v1/batches/{batch_id}/cancel").json()["status"] == "cancelling"
    Batch.objects.filter(pk=batch_id).update(status="cancelled")
    assert owner.post(f"/v1/batches/{batch_id}/cancel").json()["error"]["code"] == "batch_not_cancellable"
