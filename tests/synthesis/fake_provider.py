"""A fake OpenAI-compatible provider: a real local HTTP server with the files, batches and chat
completions endpoints that data synthesis uses.

Answers are deterministic, derived from the prompt: generated examples are built from a small
vocabulary per label (so a real training learns them), and texts are labelled by keyword. A prompt
carrying a marker such as ``[[fake:expire]]`` (through the job's description) scripts a failure:

- ``expire``: the batch ends ``expired``; every other request is answered, the rest are in the error file.
- ``no_output``: the batch ends ``completed`` with no output file; every request is in the error file.
- ``batch_failed``: the batch fails validation.
- ``malformed``: junk lines in the output file, and every third answer is prose instead of JSON.
- ``short:LABEL``: only three distinct examples for LABEL.
- ``off_label``: every fourth text is labelled with something outside the label set.
- ``slow``: a batch never finishes; chat completions take a while each.
- ``rate_limit``: each chat request first gets a 429, then a 500, then its answer.
- ``down``: every chat completion is a 500.
"""

import hashlib
import itertools
from collections import Counter
import json
import random
import re
import threading
import time
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

API_KEY = "test"
MARKER = re.compile(r"\[\[fake:([a-z_]+)(?::([^\]]+))?\]\]")

THEMES = {
    "sports": (
        ("The striker", "Our goalkeeper", "The home team", "The referee", "The coach", "Their captain", "The midfielder", "The whole squad"),
        ("scored", "missed", "celebrated", "defended", "argued about", "trained for", "won", "lost"),
        (
            "a late goal",
            "the penalty",
            "the league match",
            "the championship final",
            "the corner kick",
            "the away game",
            "the transfer window",
            "the offside call",
        ),
        (
            "in front of the stadium crowd",
            "before half time",
            "during extra time",
            "at the tournament",
            "after the whistle",
            "on the pitch",
            "in the derby",
            "this season",
        ),
    ),
    "cooking": (
        ("The chef", "My grandmother", "The baker", "Our kitchen", "The recipe", "A home cook", "The sous chef", "My flatmate"),
        ("simmered", "baked", "seasoned", "chopped", "roasted", "whisked", "sauteed", "marinated"),
        (
            "the garlic and onions",
            "a loaf of sourdough bread",
            "the tomato sauce",
            "fresh basil and oregano",
            "the chicken thighs",
            "butter and flour",
            "a pot of vegetable soup",
            "the pastry dough",
        ),
        (
            "in a cast iron pan",
            "in the oven for forty minutes",
            "with a pinch of salt",
            "over low heat",
            "for the dinner party",
            "before serving",
            "with olive oil",
            "in the slow cooker",
        ),
    ),
}


def _words(label: str) -> set[str]:
    parts = THEMES.get(label)
    if parts is None:
        return {label.lower()}
    return {word.lower() for part in parts for phrase in part for word in phrase.split() if len(word) > 3}


def _seeded(text: str) -> random.Random:
    return random.Random(int(hashlib.sha256(text.encode()).hexdigest()[:16], 16))


def _marker(body: dict) -> tuple[str | None, str | None]:
    text = " ".join(str(message.get("content", "")) for message in body.get("messages", []))
    found = MARKER.search(text)
    return (found.group(1), found.group(2)) if found else (None, None)


def _user_prompt(body: dict) -> str:
    return next((m["content"] for m in body["messages"] if m.get("role") == "user"), "")


def _schema(body: dict) -> dict:
    return body["response_format"]["json_schema"]


def generate_answer(body: dict, *, index: int = 0) -> str:
    user = _user_prompt(body)
    label = json.loads(re.search(r"^Label: (.*)$", user, re.M).group(1))
    count = int(re.search(r"^Number of examples: (\d+)$", user, re.M).group(1))
    scenario, argument = _marker(body)
    rng = _seeded(user)
    parts = THEMES.get(label)
    examples = []
    for n in range(count):
        if scenario == "short" and argument == label:
            text = f"just a {label} thing number {n % 3}"
        elif parts is None:
            text = f"{label} example {rng.randrange(10**6)} about {label}"
        else:
            text = " ".join(rng.choice(part) for part in parts) + "."
        examples.append({"text": text, "label": label})
    if scenario == "malformed" and index % 3 == 2:
        return "Sure! Here are some great examples for you:\n1. something"
    return json.dumps({"examples": examples})


def label_answer(body: dict) -> str:
    user = _user_prompt(body)
    texts = json.loads(user[user.index("{") :])
    schema = _schema(body)["schema"]
    labels = schema["$defs"]["label"]["enum"]
    multi = schema["properties"]["1"].get("type") == "array"
    scenario, _ = _marker(body)
    answer: dict[str, Any] = {}
    for key, text in texts.items():
        lowered = set(re.findall(r"[a-z]+", text.lower()))
        best = max(labels, key=lambda label: len(lowered & _words(label)))
        if scenario == "off_label" and int(key) % 4 == 0:
            best = "not-a-label"
        answer[key] = [best] if multi else best
    return json.dumps(answer)


def answer(body: dict, *, index: int = 0) -> str:
    if _schema(body)["name"] == "generated_examples":
        return generate_answer(body, index=index)
    return label_answer(body)


def completion(body: dict, content: str) -> dict:
    return {
        "id": f"chatcmpl-{hashlib.md5(content.encode()).hexdigest()[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake-model"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": None}, "finish_reason": "stop", "logprobs": None}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }


class FakeProvider:
    """The server's state; tests read ``cancelled``, ``chat_requests`` and ``batches`` to check what was asked."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict] = {}
        self.batch_requests: dict[str, list[dict]] = {}
        self.cancelled: list[str] = []
        self.chat_requests: Counter[str | None] = Counter()  # by scenario
        self.chat_attempts: dict[str, int] = {}
        self.lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> "FakeProvider":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def new_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids)}"

    def add_file(self, content: bytes, *, filename: str, purpose: str) -> dict:
        file_id = self.new_id("file")
        self.files[file_id] = content
        return {
            "id": file_id,
            "object": "file",
            "bytes": len(content),
            "created_at": int(time.time()),
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
        }

    # Batches -------------------------------------------------------------------------------------

    def create_batch(self, payload: dict) -> tuple[int, dict]:
        content = self.files.get(payload.get("input_file_id", ""))
        if content is None:
            return 404, {"error": {"message": "No such file", "type": "invalid_request_error", "param": "input_file_id", "code": None}}
        requests = [json.loads(line) for line in content.decode().splitlines() if line.strip()]
        batch_id = self.new_id("batch")
        self.batch_requests[batch_id] = requests
        self.batches[batch_id] = {
            "id": batch_id,
            "object": "batch",
            "endpoint": payload["endpoint"],
            "input_file_id": payload["input_file_id"],
            "completion_window": payload["completion_window"],
            "status": "validating",
            "created_at": int(time.time()),
            "metadata": payload.get("metadata"),
            "output_file_id": None,
            "error_file_id": None,
            "errors": None,
            "request_counts": {"total": len(requests), "completed": 0, "failed": 0},
        }
        return 200, self.batches[batch_id]

    def advance_batch(self, batch_id: str) -> dict:
        """Each retrieve moves the batch one step: validating, in_progress, finalizing, then its end."""
        batch = self.batches[batch_id]
        requests = self.batch_requests[batch_id]
        scenario, _ = _marker(requests[0]["body"]) if requests else (None, None)
        status = batch["status"]
        if status == "validating":
            if scenario == "batch_failed":
                batch["status"] = "failed"
                batch["errors"] = {
                    "object": "list",
                    "data": [{"code": "invalid_json_schema", "message": "The schema is not supported.", "line": 1, "param": "body.response_format"}],
                }
            else:
                batch["status"] = "in_progress"
        elif status == "in_progress" and scenario != "slow":
            batch["status"] = "finalizing"
            batch["request_counts"]["completed"] = len(requests) // 2
        elif status == "finalizing":
            self._finish_batch(batch, requests, scenario)
        elif status == "cancelling":
            batch["status"] = "cancelled"
        return batch

    def _finish_batch(self, batch: dict, requests: list[dict], scenario: str | None) -> None:
        answered, errored = [], []
        for index, request in enumerate(requests):
            if scenario == "no_output" or (scenario == "expire" and index % 2 == 1):
                errored.append((index, request))
            else:
                answered.append((index, request))
        lines = []
        for index, request in reversed(answered):  # results come in any order
            body = completion(request["body"], answer(request["body"], index=index))
            lines.append(
                {
                    "id": f"batch_req_{index}",
                    "custom_id": request["custom_id"],
                    "response": {"status_code": 200, "request_id": f"req_{index}", "body": body},
                    "error": None,
                }
            )
        output = [json.dumps(line) for line in lines]
        if scenario == "malformed":
            output[1:1] = ["this is not json", json.dumps({"no": "custom_id"}), '{"custom_id": "generate-0-0", "respo']
        errors = []
        for index, request in errored:
            if scenario == "expire":
                error = {"code": "batch_expired", "message": "This request could not be executed before the completion window expired."}
                errors.append({"id": f"batch_req_{index}", "custom_id": request["custom_id"], "response": None, "error": error})
            else:
                body = {"error": {"message": "Invalid schema for response_format.", "type": "invalid_request_error", "param": None, "code": None}}
                errors.append(
                    {
                        "id": f"batch_req_{index}",
                        "custom_id": request["custom_id"],
                        "response": {"status_code": 400, "request_id": f"req_{index}", "body": body},
                        "error": None,
                    }
                )
        if output:
            batch["output_file_id"] = self.add_file(("\n".join(output) + "\n").encode(), filename="output.jsonl", purpose="batch_output")["id"]
        if errors:
            batch["error_file_id"] = self.add_file(("\n".join(json.dumps(e) for e in errors) + "\n").encode(), filename="errors.jsonl", purpose="batch_output")[
                "id"
            ]
        batch["status"] = "expired" if scenario == "expire" else "completed"
        batch["request_counts"] = {"total": len(requests), "completed": len(answered), "failed": len(errored)}

    def cancel_batch(self, batch_id: str) -> dict:
        self.cancelled.append(batch_id)
        batch = self.batches[batch_id]
        if batch["status"] not in {"completed", "failed", "expired", "cancelled"}:
            batch["status"] = "cancelling"
        return batch

    # Chat ----------------------------------------------------------------------------------------

    def chat(self, body: dict) -> tuple[int, dict, dict[str, str]]:
        scenario, _ = _marker(body)
        key = hashlib.sha256(json.dumps(body["messages"], sort_keys=True).encode()).hexdigest()
        with self.lock:
            self.chat_requests[scenario] += 1
            attempt = self.chat_attempts.get(key, 0)
            self.chat_attempts[key] = attempt + 1
        if scenario == "slow":
            time.sleep(0.3)
        if scenario == "down" or (scenario == "rate_limit" and attempt == 1):
            return 500, {"error": {"message": "The server had an error.", "type": "server_error", "param": None, "code": None}}, {}
        if scenario == "rate_limit" and attempt == 0:
            error = {"message": "Rate limit reached.", "type": "rate_limit_error", "param": None, "code": "rate_limit_exceeded"}
            return 429, {"error": error}, {"retry-after-ms": "20"}
        return 200, completion(body, answer(body)), {}


def _handler(fake: FakeProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None, raw: bytes | None = None) -> None:
            data = raw if raw is not None else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream" if raw is not None else "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _authorised(self) -> bool:
            if self.headers.get("Authorization") == f"Bearer {API_KEY}":
                return True
            error = {"message": "Incorrect API key provided.", "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}
            self._send(401, {"error": error})
            return False

        def _not_found(self) -> None:
            self._send(404, {"error": {"message": f"Unknown path {self.path}", "type": "invalid_request_error", "param": None, "code": None}})

        def do_GET(self) -> None:
            if not self._authorised():
                return
            if match := re.fullmatch(r"/v1/files/([\w-]+)/content", self.path):
                content = fake.files.get(match.group(1))
                return self._send(200, None, raw=content) if content is not None else self._not_found()
            if match := re.fullmatch(r"/v1/batches/([\w-]+)", self.path):
                with fake.lock:
                    found = match.group(1) in fake.batches
                    batch = fake.advance_batch(match.group(1)) if found else None
                return self._send(200, batch) if found else self._not_found()
            self._not_found()

        def do_POST(self) -> None:
            body = self._body()
            if not self._authorised():
                return
            if self.path == "/v1/files":
                envelope = b"Content-Type: " + self.headers["Content-Type"].encode() + b"\r\n\r\n" + body
                parts = {part.get_param("name", header="content-disposition"): part for part in BytesParser(policy=HTTP).parsebytes(envelope).iter_parts()}
                upload = parts["file"]
                purpose = parts["purpose"].get_payload(decode=True).decode()
                with fake.lock:
                    created = fake.add_file(upload.get_payload(decode=True), filename=upload.get_filename() or "upload", purpose=purpose)
                return self._send(200, created)
            if self.path == "/v1/batches":
                with fake.lock:
                    status, payload = fake.create_batch(json.loads(body))
                return self._send(status, payload)
            if match := re.fullmatch(r"/v1/batches/([\w-]+)/cancel", self.path):
                with fake.lock:
                    found = match.group(1) in fake.batches
                    batch = fake.cancel_batch(match.group(1)) if found else None
                return self._send(200, batch) if found else self._not_found()
            if self.path == "/v1/chat/completions":
                status, payload, headers = fake.chat(json.loads(body))
                return self._send(status, payload, headers)
            self._not_found()

    return Handler
