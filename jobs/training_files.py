"""Training and validation rows read from files of the Files API (``training_file``, ``validation_file``).

Each line is a JSON object: a row as ``training_data`` takes it (``{"text", "label"}``; multi-label
``{"text", "labels"}``), or an example in OpenAI's chat fine-tuning format (``{"messages": [...]}``),
whose user messages are the text and whose last assistant message is the label (multi-label: the
labels, comma-separated or as a JSON array; empty when none applies). Every line is held to the
rules of an inline row (``jobs.validation.training_row``), and every bad line is reported, with its
number, in one 400 (the first ``MAX_REPORTED_LINES`` of them).
"""

import json
from typing import Any

from django.conf import settings

from accounts.models import Account
from files.errors import WrongFilePurpose
from files.models import FilePurpose
from files.selectors import get_file, iter_lines
from jobs.validation import SINGLE_LABEL, JobRequest, check_inferred_labels, training_row
from reflex_project.api.errors import InvalidRequest
from reflex_project.api.json_body import refuse_unknown_fields
from reflex_project.api.text import check_json_text

MAX_REPORTED_LINES = 20
CHAT_FIELDS = {"messages", "tools", "functions", "parallel_tool_calls", "metadata"}  # OpenAI's; only messages are read
Rows = list[tuple[str, tuple[str, ...]]]


def read_job_files(*, account: Account, request: JobRequest) -> None:
    """Fills ``request.rows`` from its training file and ``request.validation_rows`` from its
    validation file: a 404 for a file the account does not have, a 400 for a file of another purpose
    or with bad lines."""
    if request.training_file is not None:
        allowed = set(request.labels) if request.labels is not None else None
        request.rows = read_rows(account=account, file_id=request.training_file, param="training_file", mode=request.mode, allowed=allowed)
        if request.labels is None:
            check_inferred_labels(request.rows, param="training_file")
    if request.validation_file is not None:
        labels = request.labels or {label for _, row_labels in request.rows for label in row_labels}
        request.validation_rows = read_rows(
            account=account,
            file_id=request.validation_file,
            param="validation_file",
            mode=request.mode,
            allowed=set(labels),
            allowed_name="the job's labels",
        )


def read_rows(*, account: Account, file_id: str, param: str, mode: str, allowed: set[str] | None, allowed_name: str = "'labels'") -> Rows:
    stored = get_file(account=account, file_id=file_id, param=param)
    if stored.purpose != FilePurpose.FINE_TUNE:
        raise WrongFilePurpose(
            f"File {file_id} was uploaded with purpose '{stored.purpose}'; '{param}' takes a file uploaded with purpose 'fine-tune'.",
            param=param,
        )
    rows: Rows = []
    problems: list[str] = []
    bad = 0
    for number, raw in iter_lines(file_id=stored.id):
        if not raw.strip():
            continue
        where = f"line {number}"
        try:
            rows.append(training_row(_row_of(raw, mode=mode), mode=mode, allowed=allowed, where=where, allowed_name=allowed_name))
        except InvalidRequest as error:
            bad += 1
            if len(problems) < MAX_REPORTED_LINES:
                problems.append(f"{where}: {error.message}")
        if len(rows) > settings.REFLEX_MAX_TRAINING_ROWS:
            raise InvalidRequest(f"File {file_id} holds more than {settings.REFLEX_MAX_TRAINING_ROWS} rows.", param=param)
    if bad:
        more = f"; and {bad - len(problems)} more" if bad > len(problems) else ""
        raise InvalidRequest(
            f"File {file_id} has {bad} bad line{'s' if bad > 1 else ''}: {'; '.join(problems)}{more}.", param=param, code="invalid_file_content"
        )
    if not rows:
        raise InvalidRequest(f"File {file_id} holds no rows.", param=param, code="invalid_file_content")
    return rows


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _row_of(raw: bytes, *, mode: str) -> Any:
    """The line as a ``training_data`` row (a chat example converted), to be checked like one."""
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise InvalidRequest("not UTF-8 text.") from None
    except (ValueError, RecursionError) as exc:
        raise InvalidRequest(f"not valid JSON ({exc}).") from None
    check_json_text(value, raw)
    if isinstance(value, dict) and "messages" in value:
        return _chat_row(value, mode=mode)
    return value


def _chat_row(example: dict, *, mode: str) -> dict[str, Any]:
    refuse_unknown_fields(example, CHAT_FIELDS)
    messages = example["messages"]
    if not isinstance(messages, list) or not all(isinstance(message, dict) for message in messages):
        raise InvalidRequest("'messages' must be an array of {role, content} objects.", param="messages")
    users = [_content(message) for message in messages if message.get("role") == "user"]
    answers = [message for message in messages if message.get("role") == "assistant"]
    if not users:
        raise InvalidRequest("A chat example needs a user message: the user messages are the text.", param="messages")
    if not answers:
        raise InvalidRequest("A chat example needs an assistant message: the last one is the label.", param="messages")
    text, answer = "\n".join(users), _content(answers[-1]).strip()
    if mode == SINGLE_LABEL:
        return {"text": text, "label": answer}
    return {"text": text, "labels": _label_list(answer)}


def _content(message: dict) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(part, dict) and isinstance(part.get("text"), str) for part in content):
        return "".join(part["text"] for part in content)
    raise InvalidRequest(f"A {message.get('role')} message's content must be a string or text parts.", param="messages")


def _label_list(answer: str) -> Any:
    if answer.startswith("["):
        try:
            return json.loads(answer)
        except ValueError:
            raise InvalidRequest("The assistant's labels are not a valid JSON array.", param="messages") from None
    return [label.strip() for label in answer.split(",") if label.strip()]
