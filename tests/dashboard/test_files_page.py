"""The dashboard lists the account's files and batches, with counts and the output to download."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from accounts.services import get_or_create_account
from batches.models import Batch, BatchStatus
from files.services import create_file


def _account(name: str):
    user = get_user_model().objects.create_user(username=name, password="correct horse battery")
    client = Client()
    client.force_login(user)
    return get_or_create_account(user=user), client


@pytest.mark.django_db(transaction=True)
def test_the_files_page_lists_files_and_batches_and_downloads_an_output():
    account, client = _account("filer")
    output = create_file(account=account, filename="batch_x_output.jsonl", purpose="batch_output", parts=[b'{"custom_id": "a"}\n'])
    upload = create_file(account=account, filename="tickets.jsonl", purpose="fine-tune", parts=[b'{"text": "t", "label": "l"}\n'])
    now = timezone.now()
    batch = Batch.objects.create(
        account=account,
        input_file_id=upload.id,
        status=BatchStatus.COMPLETED,
        output_file_id=output.id,
        request_total=1,
        request_completed=1,
        created_at=now,
        expires_at=now + timedelta(hours=24),
    )
    page = client.get("/dashboard/files/")
    assert page.status_code == 200
    html = page.content.decode()
    assert upload.id in html and "tickets.jsonl" in html and batch.id in html and "completed" in html
    assert f"/dashboard/files/{output.id}/content" in html
    download = client.get(f"/dashboard/files/{output.id}/content")
    assert download.status_code == 200 and b"".join(download) == b'{"custom_id": "a"}\n'


@pytest.mark.django_db
def test_another_accounts_file_is_not_listed_nor_downloadable():
    owner, _ = _account("owner")
    stored = create_file(account=owner, filename="secret.jsonl", purpose="fine-tune", parts=[b"x\n"])
    _, stranger = _account("stranger")
    assert stored.id not in stranger.get("/dashboard/files/").content.decode()
    assert stranger.get(f"/dashboard/files/{stored.id}/content").status_code == 404
    assert Client().get("/dashboard/files/").status_code == 302
