import pytest
import torch

from classifier_core.artifact import ArtifactError, TrainedModel, from_bytes, to_bytes


def sample_model() -> TrainedModel:
    generator = torch.Generator().manual_seed(0)
    return TrainedModel(
        labels=["b", "a", "ü"],
        mode="multi_label",
        stack="all-MiniLM-L6-v2@x+reflex-lora-v1",
        state={
            "layers.5.query.lora_A": torch.randn(8, 384, generator=generator),
            "head.weight": torch.randn(3, 384, generator=generator).half(),
            "head.bias": torch.zeros(3),
        },
        config={"k": 1, "rank": 8, "alpha": 16.0, "targets": ["query"]},
        thresholds=[0.5, 0.25, 0.7],
        metrics={"accuracy": 0.5, "f1_score": None},
        trained_examples=42,
    )


def test_round_trip_is_equal() -> None:
    model = sample_model()
    loaded = from_bytes(to_bytes(model))
    assert loaded.state.keys() == model.state.keys()
    for key, value in model.state.items():
        assert loaded.state[key].dtype == value.dtype
        assert torch.equal(loaded.state[key], value)
    for field in ("labels", "mode", "stack", "config", "thresholds", "metrics", "trained_examples"):
        assert getattr(loaded, field) == getattr(model, field)


@pytest.mark.parametrize("data", [b"", b"garbage", b"\x80\x04pickle", None])
def test_from_bytes_refuses_garbage(data) -> None:
    with pytest.raises(ArtifactError, match="Reflex model artifact"):
        from_bytes(data)


def test_from_bytes_refuses_damaged_artifacts() -> None:
    data = to_bytes(sample_model())
    with pytest.raises(ArtifactError):
        from_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError):
        from_bytes(data[:30] + b"\xff" * 10 + data[40:])
