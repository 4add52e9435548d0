"""The defaults' public rows: optional to serve, required to retrain, part of what makes a model current;
and the cards generated from the shipped manifest."""

import io
import json
from dataclasses import replace
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from models_registry.defaults.cards import readme_table, write_cards
from models_registry.defaults.catalog import DEFAULT_REFLEXES, DEFAULTS_BY_NAME
from models_registry.defaults.seeding import current_digest, read_manifest
from classifier_core.finetune import RECIPE, epochs_for
from models_registry.defaults.training import DEFAULTS_RECIPE, UNTIMED_RECIPE, held_out_splits, read_examples, training_rows
from models_registry.models import ClassifierVersion

ROOT = Path(__file__).resolve().parent.parent.parent
PUBLIC = [reflex for reflex in DEFAULT_REFLEXES if reflex.public]


def test_three_defaults_train_on_credited_public_rows():
    assert [reflex.name for reflex in PUBLIC] == ["jailbreak", "guardrail", "user-frustrated"]
    assert all(source.licence and source.origin for reflex in PUBLIC for source in reflex.public)


@pytest.mark.parametrize("reflex", DEFAULT_REFLEXES, ids=lambda r: r.name)
def test_without_the_public_rows_the_shipped_models_are_current(tmp_path, reflex):
    assert current_digest(reflex, tmp_path / "absent") == read_manifest()[reflex.name]["digest"]


def _public_folder(root: Path, rows: dict[str, dict[str, list[dict]]]) -> Path:
    """A public-data folder at ``root/defaults``: ``rows[set folder][split]``, set folders relative to it."""
    folder = root / "defaults"
    for name, splits in rows.items():
        (folder / name).mkdir(parents=True, exist_ok=True)
        for split, split_rows in splits.items():
            (folder / name / f"{split}.jsonl").write_text("".join(json.dumps(row) + "\n" for row in split_rows))
    return folder


def test_other_public_rows_make_a_shipped_model_stale(tmp_path):
    reflex = DEFAULTS_BY_NAME["jailbreak"]
    row = {"text": "hi", "label": "benign"}
    folder = _public_folder(tmp_path, {"jailbreak": {"train": [row], "test": [row]}})
    assert current_digest(reflex, folder) == read_manifest()["jailbreak"]["digest"]  # a set missing: the shipped rows stand
    _public_folder(tmp_path, {"../jailbreak_classification": {"train": [row], "test": [row]}})
    assert current_digest(reflex, folder) != read_manifest()["jailbreak"]["digest"]
    assert current_digest(DEFAULTS_BY_NAME["domain"], folder) == read_manifest()["domain"]["digest"]


def test_jailbreak_trains_on_both_public_sets_but_never_on_a_held_out_text(tmp_path):
    reflex = DEFAULTS_BY_NAME["jailbreak"]
    obvious = read_examples(reflex.obvious_path)[0]
    team_test = read_examples(reflex.test_path)[0]
    rows = lambda *texts: [{"text": text, "label": "benign"} for text in texts]  # noqa: E731
    folder = _public_folder(
        tmp_path,
        {
            "jailbreak": {"train": rows("own train", obvious.text), "test": rows("own test")},
            "../jailbreak_classification": {"train": rows("other train", "own test", team_test.text), "test": rows("other test")},
        },
    )
    assert reflex.public_sets == ("public", "jailbreak_classification")
    splits = held_out_splits(reflex, folder)
    assert list(splits) == ["team", "public", "jailbreak_classification", "obvious"]
    assert [e.text for e in splits["public"]] == ["own test"] and [e.text for e in splits["jailbreak_classification"]] == ["other test"]
    team, public = training_rows(reflex, folder)
    assert [example.text for example in public] == ["own train", "other train"]
    assert len(team) == len(read_examples(reflex.train_path))  # the team's rows never repeat a held-out text


def test_user_frustrated_gives_the_teams_rows_more_weight_than_its_reddit_rows(tmp_path):
    """16,245 public Reddit comments drowned the team's rows about an assistant's users (retrained without
    repeats: team split 0.712, where twice gives 0.824; docs/decisions/0015-defaults-train-longer.md)."""
    assert {reflex.name: reflex.team_repeats for reflex in DEFAULT_REFLEXES if reflex.team_repeats != 1} == {"user-frustrated": 2}
    reflex = DEFAULTS_BY_NAME["user-frustrated"]
    row = {"text": "meh", "label": "not frustrated"}
    folder = _public_folder(tmp_path, {"user-frustrated": {"train": [row], "test": [{**row, "text": "ok"}]}})
    team, public = training_rows(reflex, folder)
    written = [example.text for example in read_examples(reflex.train_path)]
    assert [example.text for example in team] == written * 2 and [example.text for example in public] == ["meh"]


def test_a_default_fine_tunes_for_the_passes_its_rows_need_not_within_a_jobs_time_budget():
    """A default is trained once and shipped (docs/decisions/0015-defaults-train-longer.md): `guardrail`'s
    6,200 fine-tuning rows get four passes and the time they take, where a job's budget ends after about
    one, and those passes adapt the top three layers, not two; everything else is a job's recipe, and a
    warm start from a default takes its adapter's shape like any other."""
    rows, tokens = 6_200, 6_200 * 40
    assert epochs_for(DEFAULTS_RECIPE, rows, tokens) == 4
    assert DEFAULTS_RECIPE.budget(7_778) >= 20 * 60 > 5 * RECIPE.budget(7_778)
    assert epochs_for(DEFAULTS_RECIPE, 500, 500 * 40) == epochs_for(RECIPE, 500, 500 * 40)  # small sets: the job's passes
    assert (DEFAULTS_RECIPE.k, UNTIMED_RECIPE.k, RECIPE.k) == (3, 2, 2)
    budgets = ("k", "budget_rows", "budget_tokens_per_row", "seconds_per_row", "max_seconds")
    assert replace(DEFAULTS_RECIPE, **{name: getattr(RECIPE, name) for name in budgets}) == RECIPE
    # `user-frustrated` keeps a job's passes (more measured worse there), still without a job's time budget
    assert [reflex.name for reflex in DEFAULT_REFLEXES if not reflex.more_passes] == ["user-frustrated"]
    assert epochs_for(UNTIMED_RECIPE, rows, tokens) == epochs_for(RECIPE, rows, tokens) and UNTIMED_RECIPE.budget(17_590) >= 20 * 60


@pytest.mark.django_db
def test_retraining_without_the_public_rows_says_where_it_looked_and_changes_nothing(tmp_path):
    before = ClassifierVersion.objects.count()
    with pytest.raises(CommandError, match=r"guardrail trains on public rows too.*REFLEX_DEFAULTS_DATA"):
        call_command("seed_reflexes", "--retrain", "--only", "guardrail", "--data", str(tmp_path), stdout=io.StringIO())
    assert ClassifierVersion.objects.count() == before


def test_the_cards_in_docs_are_the_ones_the_manifest_generates(tmp_path):
    written = write_cards(read_manifest(), tmp_path)
    assert sorted(path.name for path in written) == sorted(f"{reflex.name}.md" for reflex in DEFAULT_REFLEXES)
    for path in written:
        assert path.read_text() == (ROOT / "docs" / "defaults" / path.name).read_text(), (
            f"docs/defaults/{path.name} is stale: run `python manage.py seed_reflexes --report`"
        )
    guardrail = (tmp_path / "guardrail.md").read_text()
    for heading in ("## What it detects", "## What it does not", "## Training data", "## Held-out figures", "## Known failure modes"):
        assert heading in guardrail
    assert "public test split" in guardrail and "openai/moderation-api-release" in guardrail
    jailbreak = (tmp_path / "jailbreak.md").read_text()
    assert "| `jailbreak_classification` public test split | 315 |" in jailbreak and "jackhhao/llm-warden" in jailbreak


def test_the_readme_table_links_every_card_with_its_public_figures():
    table = readme_table(read_manifest())
    readme = (ROOT / "README.md").read_text()
    assert table in readme, "README's defaults table is stale: run `python manage.py seed_reflexes --report`"
    for reflex in DEFAULT_REFLEXES:
        assert f"(docs/defaults/{reflex.name}.md)" in table
    assert table.count("| public |") == len(PUBLIC)


def test_the_manifest_says_how_deep_each_shipped_adapter_is_and_the_card_repeats_it():
    from classifier_core.artifact import from_bytes
    from models_registry.defaults.cards import card
    from models_registry.defaults.seeding import ARTIFACT_DIR, read_manifest

    manifest = read_manifest()
    for reflex in DEFAULT_REFLEXES:
        entry = manifest[reflex.name]
        assert entry["adapted_layers"] == from_bytes((ARTIFACT_DIR / f"{reflex.name}.bin").read_bytes()).config["k"]
        assert f"top {entry['adapted_layers']} layers" in card(reflex, entry)
    assert manifest["jailbreak"]["adapted_layers"] == 3  # trained with DEFAULTS_RECIPE's three layers
