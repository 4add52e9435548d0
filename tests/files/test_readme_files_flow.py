"""The README's OpenAI-flow example (Files, ``training_file``, Batch API) runs as written after the quick start."""

import re
from pathlib import Path

from tests.service import Service

README = Path(__file__).resolve().parent.parent.parent / "README.md"


def test_the_openai_flow_runs_as_written(service: Service, api_key: str, capsys):
    quick_start, files_flow = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)[:2]
    assert "training_file=training.id" in files_flow and "client.batches.create(" in files_flow
    namespace: dict = {}
    source = quick_start.replace("http://127.0.0.1:8000/v1", service.api_url).replace('"rfx_..."', repr(api_key))
    exec(compile(source, "README.md", "exec"), namespace)
    capsys.readouterr()
    exec(compile(files_flow, "README.md", "exec"), namespace)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "succeeded True"
    assert printed[1:] == ["t0 billing", "t1 bug", "t2 billing"]
