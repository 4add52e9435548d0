"""The Files API in this process: upload, list, retrieve, download, delete; ownership and limits."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from files.models import FileChunk, StoredFile
from files.services import CHUNK_BYTES
from tests.api.inprocess import api_client, new_key

ROWS = b"".join(json.dumps({"text": f"row {i}", "label": "a" if i % 2 else "b"}).encode() + b"\n" for i in range(20))


def upload(client, content: bytes = ROWS, *, purpose: str | None = "fine-tune", name: str = "train.jsonl", **extra):
    fields = {"file": SimpleUploadedFile(name, content), **extra}
    if purpose is not None:
        fields["purpose"] = purpose
    return client.post("/v1/files", fields)


def error_of(response, status: int, *, param: str | None = None, code: str | None = None) -> dict:
    assert response.status_code == status, response.content[:300]
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    if param is not None:
        assert error["param"] == param
    if code is not None:
        assert error["code"] == code
    return error


@pytest.mark.django_db
def test_an_upload_answers_an_openai_file_object():
    response = upload(api_client(new_key()))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"].startswith("file-") and body["object"] == "file"
    assert body["bytes"] == len(ROWS) and body["filename"] == "train.jsonl"
    assert body["purpose"] == "fine-tune" and body["status"] == "processed" and isinstance(body["created_at"], int)
    client = api_client(new_key())
    assert upload(client, purpose="batch").json()["purpose"] == "batch"


@pytest.mark.django_db
def test_a_file_is_stored_in_chunks_in_order():
    content = bytes(range(256)) * (CHUNK_BYTES * 2 // 256 + 3)
    file_id = upload(api_client(new_key()), content).json()["id"]
    chunks = list(FileChunk.objects.filter(file_id=file_id).order_by("index").values_list("data", flat=True))
    assert len(chunks) == 3 and all(len(chunk) == CHUNK_BYTES for chunk in chunks[:2])
    assert b"".join(bytes(chunk) for chunk in chunks) == content


@pytest.mark.django_db
def test_list_is_newest_first_with_a_cursor_and_a_purpose_filter():
    client = api_client(new_key())
    ids = [upload(client, purpose=purpose).json()["id"] for purpose in ("fine-tune", "batch", "fine-tune", "batch")]
    page = client.get("/v1/files").json()
    assert page["object"] == "list" and [f["id"] for f in page["data"]] == ids[::-1] and page["has_more"] is False
    first = client.get("/v1/files", {"limit": 2}).json()
    assert [f["id"] for f in first["data"]] == ids[:1:-1] and first["has_more"] is True
    rest = client.get("/v1/files", {"limit": 2, "after": first["data"][-1]["id"]}).json()
    assert [f["id"] for f in rest["data"]] == ids[1::-1] and rest["has_more"] is False
    batch = client.get("/v1/files", {"purpose": "batch"}).json()
    assert [f["id"] for f in batch["data"]] == [ids[3], ids[1]]
    error_of(client.get("/v1/files", {"purpose": "nonsense"}), 400, param="purpose")
    error_of(client.get("/v1/files", {"after": "file-nope"}), 400, param="after")
    error_of(client.get("/v1/files", {"limit": 0}), 400, param="limit")


@pytest.mark.django_db
def test_another_accounts_file_is_a_404_like_a_missing_one():
    owner, stranger = api_client(new_key()), api_client(new_key())
    file_id = upload(owner).json()["id"]
    for path in (f"/v1/files/{file_id}", f"/v1/files/{file_id}/content", "/v1/files/file-missing"):
        error_of(stranger.get(path), 404, code="file_not_found")
    error_of(stranger.delete(f"/v1/files/{file_id}"), 404, code="file_not_found")
    assert stranger.get("/v1/files").json()["data"] == []
    assert owner.get(f"/v1/files/{file_id}").status_code == 200


@pytest.mark.django_db
def test_delete_removes_the_file_and_its_bytes():
    client = api_client(new_key())
    file_id = upload(client).json()["id"]
    response = client.delete(f"/v1/files/{file_id}")
    assert response.status_code == 200 and response.json() == {"id": file_id, "object": "file", "deleted": True}
    assert not StoredFile.objects.filter(pk=file_id).exists() and not FileChunk.objects.filter(file_id=file_id).exists()
    error_of(client.get(f"/v1/files/{file_id}"), 404)


@pytest.mark.django_db
def test_a_bad_upload_is_a_400_and_stores_nothing():
    client = api_client(new_key())
    error_of(upload(client, purpose="fine-tune-please"), 400, param="purpose")
    error_of(upload(client, purpose="batch_output"), 400, param="purpose")
    error_of(upload(client, purpose=None), 400, param="purpose", code="missing_required_parameter")
    error_of(upload(client, b""), 400, param="file")
    error_of(upload(client, extra_field="x"), 400, param="extra_field", code="unknown_parameter")
    error_of(client.post("/v1/files", {"purpose": "batch"}), 400, param="file")
    error_of(client.post("/v1/files", b'{"purpose": "batch"}', content_type="application/json"), 415)
    error_of(client.post("/v1/files", b"--x\r\nnonsense", content_type="multipart/form-data; boundary=x"), 400)
    assert not StoredFile.objects.exists() and not FileChunk.objects.exists()


@pytest.mark.django_db
def test_a_file_over_the_limit_is_a_413_and_stores_nothing(settings):
    settings.REFLEX_MAX_FILE_BYTES = CHUNK_BYTES + 10
    client = api_client(new_key())
    error_of(upload(client, b"x" * (CHUNK_BYTES + 11)), 413, code="request_too_large")
    assert not StoredFile.objects.exists() and not FileChunk.objects.exists()
    assert upload(client, b"x" * (CHUNK_BYTES + 10)).status_code == 200


@pytest.mark.django_db
def test_a_body_over_the_upload_limit_is_refused_before_it_is_read(settings):
    settings.REFLEX_MAX_FILE_BYTES = 1000
    response = api_client(new_key()).generic("POST", "/v1/files", b"x", content_type="multipart/form-data; boundary=x", CONTENT_LENGTH=str(3 * 1024 * 1024))
    error_of(response, 413)


@pytest.mark.django_db(transaction=True)
def test_content_streams_the_bytes_as_uploaded():
    client = api_client(new_key())
    content = b"".join(json.dumps({"n": i, "pad": "y" * 200}).encode() + b"\n" for i in range(12_000))
    file_id = upload(client, content).json()["id"]
    response = client.get(f"/v1/files/{file_id}/content")
    assert response.status_code == 200 and response.streaming
    assert int(response["Content-Length"]) == len(content)
    assert b"".join(response) == content  # the async stream, consumed here as a sync server would
