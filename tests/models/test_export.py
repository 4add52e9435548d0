"""GET /v1/models/{model}/export and `manage.py export_model`: the same archive, for what the key may
predict with; another account's model answers as a missing one does."""

import io
import json
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.services import create_api_key, get_or_create_user
from classifier_core.artifact import from_bytes, to_bytes
from classifier_core.export import export_archive
from classifier_core.stack import STACK_ID
from models_registry.defaults.seeding import ARTIFACT_DIR, seed_reflexes
from models_registry.models import Classifier, ClassifierVersion
from tests.api.inprocess import api_client

pytestmark = pytest.mark.django_db

OWNED = "jailbreak.bin"  # a shipped, really trained model, stored as an account's own "triage"


def missing(name: str) -> dict:
    return {
        "error": {
            "message": f"The model {name!r} does not exist or you do not have access to it.",
            "type": "invalid_request_error",
            "param": "model",
            "code": "model_not_found",
        }
    }


@pytest.fixture
def setup():
    seed_reflexes(shipped_only=True, only=["domain"], say=lambda line: None)
    owner = create_api_key(user=get_or_create_user(username="exporter"))
    other = create_api_key(user=get_or_create_user(username="stranger"))
    artifact = (ARTIFACT_DIR / OWNED).read_bytes()
    model = from_bytes(artifact)
    classifier = Classifier.objects.create(account=owner.api_key.account, name="triage")
    for number in (1, 2):  # the newest version is the one served, so the one exported
        ClassifierVersion.objects.create(
            classifier=classifier,
            number=number,
            labels=model.labels,
            mode=model.mode,
            stack=STACK_ID,
            artifact=artifact,
            artifact_size=len(artifact),
        )
    return owner.raw_key, other.raw_key, artifact


def test_the_owner_exports_the_served_version_as_a_zip(setup):
    owner, _, artifact = setup
    response = api_client(owner).get("/v1/models/triage/export")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="triage-v2.zip"'
    assert response.content == export_archive(from_bytes(artifact), name="triage", version=2)
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    facts = json.loads(archive.read("triage-v2/reflex.json"))
    assert (facts["name"], facts["version"], facts["labels"], facts["mode"]) == ("triage", 2, ["benign", "jailbreak"], "single_label")
    assert "triage-v2/predict.py" in archive.namelist()


def test_another_account_or_an_unknown_name_is_a_404_and_defaults_export_for_every_key(setup):
    owner, other, _ = setup
    stranger = api_client(other)
    for name in ("triage", "nope"):
        response = stranger.get(f"/v1/models/{name}/export")
        assert response.status_code == 404
        assert response.json() == missing(name)
    assert stranger.get("/v1/models/triage").json() == missing("triage")  # as the model's own page answers

    default = stranger.get("/v1/models/domain/export")
    assert default.status_code == 200, default.content
    assert default["Content-Disposition"] == 'attachment; filename="domain-v1.zip"'
    assert default.content == api_client(owner).get("/v1/models/domain/export").content

    not_seeded = stranger.get("/v1/models/guardrail/export")  # a default whose version is not in yet
    assert not_seeded.status_code == 409 and not_seeded.json()["error"]["code"] == "model_not_ready"
    assert api_client(None).get("/v1/models/triage/export").status_code == 401
    assert api_client(owner).post("/v1/models/triage/export").status_code == 405


def test_a_model_of_another_training_stack_is_refused(setup):
    owner, _, artifact = setup
    old = from_bytes(artifact)
    old.stack = "all-MiniLM-L6-v2@older+reflex-lora-v0"
    classifier = Classifier.objects.create(account=Classifier.objects.get(name="triage").account, name="old")
    data = to_bytes(old)
    ClassifierVersion.objects.create(classifier=classifier, number=1, labels=old.labels, mode=old.mode, stack=old.stack, artifact=data, artifact_size=len(data))
    response = api_client(owner).get("/v1/models/old/export")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "model_incompatible"


def test_the_command_writes_the_archive_the_api_returns(setup, tmp_path: Path, capsys):
    owner, _, _ = setup
    call_command("export_model", "triage", str(tmp_path / "out"), "--user", "exporter")
    written = Path(capsys.readouterr().out.strip().splitlines()[-1])
    assert written == tmp_path / "out" / "triage-v2.zip"
    assert written.read_bytes() == api_client(owner).get("/v1/models/triage/export").content

    call_command("export_model", "domain", str(tmp_path))  # no --user: the defaults
    assert (tmp_path / "domain-v1.zip").read_bytes() == api_client(owner).get("/v1/models/domain/export").content

    with pytest.raises(CommandError, match="does not exist"):
        call_command("export_model", "triage", str(tmp_path))  # an account's model needs its --user
    with pytest.raises(CommandError, match="does not exist"):
        call_command("export_model", "triage", str(tmp_path), "--user", "stranger")
    with pytest.raises(CommandError, match="no user"):
        call_command("export_model", "triage", str(tmp_path), "--user", "nobody")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["domain-v1.zip", "out"]
