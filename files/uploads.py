"""Turns a ``POST /v1/files`` request into the upload it carries, or raises a 400/415 naming the field."""

from dataclasses import dataclass

from django.core.files.uploadedfile import UploadedFile
from rest_framework.exceptions import ParseError
from rest_framework.request import Request

from files.models import UPLOAD_PURPOSES
from reflex_project.api.errors import InvalidRequest, MissingParameter, UnsupportedMediaType
from reflex_project.api.json_body import refuse_unknown_fields
from reflex_project.api.text import check_text

MAX_FILENAME_CHARS = 255
FIELDS = {"file", "purpose"}


@dataclass(frozen=True)
class Upload:
    file: UploadedFile
    filename: str
    purpose: str


def read_upload(request: Request) -> Upload:
    if not (request.content_type or "").lower().startswith("multipart/form-data"):
        raise UnsupportedMediaType("Send the file as 'multipart/form-data' with the fields 'file' and 'purpose'.")
    try:
        data, uploads = request.data, request.FILES
    except ParseError as exc:
        raise InvalidRequest(f"The multipart body could not be read: {exc.detail}", code="invalid_multipart") from None
    assert isinstance(data, dict)  # a form body (the multipart parser's QueryDict), never a JSON list
    refuse_unknown_fields({name: None for name in data}, FIELDS)
    purpose = data.get("purpose")
    if purpose is None or "purpose" in uploads:
        raise MissingParameter("Missing required parameter: 'purpose'.", param="purpose")
    check_text(purpose, param="purpose")
    if purpose not in UPLOAD_PURPOSES:
        choices = " or ".join(f"'{choice}'" for choice in UPLOAD_PURPOSES)
        raise InvalidRequest(f"'purpose' must be {choices}.", param="purpose")
    files = uploads.getlist("file")
    if len(files) != 1:
        raise MissingParameter("Send exactly one file in the field 'file'.", param="file")
    filename = files[0].name or "upload.jsonl"
    check_text(filename, param="file")
    if len(filename) > MAX_FILENAME_CHARS:
        raise InvalidRequest(f"The file name must be at most {MAX_FILENAME_CHARS} characters.", param="file")
    return Upload(file=files[0], filename=filename, purpose=purpose)
