"""`webhook_url` is checked when the job is created: https only, public addresses only."""

import ipaddress

import httpx
import pytest

from tests.api.test_errors import assert_error
from tests.conftest import tiny_rows
from webhooks.destinations import is_public_address, validate_webhook_url
from reflex_project.api.errors import InvalidRequest

REFUSED = [
    "https://127.0.0.1/hook",
    "https://10.0.0.1/hook",
    "https://localhost:8443/hook",
    "https://[::1]/hook",
    "https://169.254.169.254/latest/meta-data",
    "https://192.168.1.20/hook",
    "https://100.64.0.1/hook",
    "https://224.0.0.1/hook",
    "https://0.0.0.0/hook",
    "https://[::ffff:10.0.0.1]/hook",
    "https://[fe80::1]/hook",
    "http://93.184.216.34/hook",  # plain http
    "ftp://93.184.216.34/hook",
    "https:///hook",
    "https://93.184.216.34:99999/hook",
    "not a url",
    "https://no-such-host.invalid/hook",
]


@pytest.mark.parametrize("url", REFUSED)
def test_an_unsafe_webhook_url_is_refused_at_creation(http: httpx.Client, url: str):
    response = http.post("/fine_tuning/jobs", json={"training_data": tiny_rows(), "webhook_url": url})
    assert_error(response, 400, param="webhook_url")
    assert http.get("/fine_tuning/jobs").json()["data"] == []


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "1.1.1.1"])
def test_public_addresses_are_allowed(address: str):
    assert is_public_address(ipaddress.ip_address(address))


def test_a_public_https_url_is_accepted(settings):
    settings.REFLEX_WEBHOOK_ALLOW_PRIVATE = False
    assert validate_webhook_url(" https://93.184.216.34/hooks/reflex ") == "https://93.184.216.34/hooks/reflex"


def test_the_settings_open_http_and_private_addresses_for_local_development(settings):
    settings.REFLEX_WEBHOOK_ALLOW_HTTP = True
    settings.REFLEX_WEBHOOK_ALLOW_PRIVATE = True
    assert validate_webhook_url("http://127.0.0.1:9000/hook") == "http://127.0.0.1:9000/hook"
    settings.REFLEX_WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(InvalidRequest) as refused:
        validate_webhook_url("http://127.0.0.1:9000/hook")
    assert refused.value.param == "webhook_url"
