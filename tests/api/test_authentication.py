import subprocess
import sys

import httpx
import openai
import pytest

from tests.service import ROOT, Service


def test_a_missing_key_is_a_401_in_openai_shape(service: Service):
    response = httpx.get(f"{service.api_url}/fine_tuning/jobs")
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"
    assert response.json()["error"]["code"] == "invalid_api_key"


@pytest.mark.parametrize("header", ["Bearer rfx_not-a-real-key", "Basic dXNlcjpwYXNz", "Bearer", "rfx_raw"])
def test_a_bad_or_malformed_key_is_a_401(service: Service, header: str):
    response = httpx.get(f"{service.api_url}/models", headers={"Authorization": header})
    assert response.status_code == 401
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}


def test_the_sdk_raises_authentication_error_for_an_unknown_key(service: Service):
    client = openai.OpenAI(api_key="rfx_unknown", base_url=service.api_url, max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        client.fine_tuning.jobs.list()


def test_create_api_key_prints_the_key_alone_on_the_last_line(service: Service):
    result = service.manage("create_api_key", "--user", "printer")
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("rfx_") and " " not in last
    assert httpx.get(f"{service.api_url}/models", headers={"Authorization": f"Bearer {last}"}).status_code == 200


def test_create_api_key_from_stdin_prints_one_working_key_per_username(service: Service):
    result = subprocess.run(
        [sys.executable, "manage.py", "create_api_key", "--stdin"],
        cwd=ROOT,
        env=service.env(),
        input="stdin-a\n\nstdin-b\nstdin-a\n",
        capture_output=True,
        text=True,
        check=True,
    )
    keys = result.stdout.split()
    assert len(keys) == 3 and len(set(keys)) == 3 and all(key.startswith("rfx_") for key in keys)
    for key in keys:
        assert httpx.get(f"{service.api_url}/models", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    refused = service.manage("create_api_key", check=False)
    assert refused.returncode != 0 and "either --user NAME or --stdin" in refused.stderr


def test_a_second_key_of_the_same_user_sees_the_same_jobs(service: Service):
    first, second = service.create_key("shared-user"), service.create_key("shared-user")
    created = httpx.post(
        f"{service.api_url}/fine_tuning/jobs",
        headers={"Authorization": f"Bearer {first}"},
        json={"training_data": [{"text": "only one label", "label": "a"}]},
    ).json()
    seen = httpx.get(f"{service.api_url}/fine_tuning/jobs/{created['id']}", headers={"Authorization": f"Bearer {second}"})
    assert seen.status_code == 200
    other = service.create_key("somebody-else")
    hidden = httpx.get(f"{service.api_url}/fine_tuning/jobs/{created['id']}", headers={"Authorization": f"Bearer {other}"})
    assert hidden.status_code == 404
    assert hidden.json()["error"]["code"] == "job_not_found"
