"""The README's Python quick start runs exactly as written (only the server address and key differ)."""

import re
from pathlib import Path

from tests.service import Service

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_quick_start_runs_as_written(service: Service, api_key: str, capsys):
    source = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    assert 'base_url="http://127.0.0.1:8000/v1", api_key="rfx_..."' in source
    source = source.replace("http://127.0.0.1:8000/v1", service.api_url).replace('"rfx_..."', repr(api_key))
    exec(compile(source, "README.md", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("succeeded support-triage")
    assert len(printed) == 1 + 5 + 1  # the job, five events (one page: iterating the page itself would fetch all), the label
    assert printed[-1].startswith("billing ")
