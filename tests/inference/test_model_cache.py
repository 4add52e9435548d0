"""The model cache: an LRU of prepared versions bounded by the bytes their tensors hold."""

import pytest

from inference.model_cache import ModelCache
from models_registry.defaults.seeding import seed_reflexes
from models_registry.models import ClassifierVersion


@pytest.fixture
def versions(db) -> list[int]:
    seed_reflexes(shipped_only=True, say=lambda line: None)
    return list(ClassifierVersion.objects.filter(classifier__account__isnull=True).order_by("pk").values_list("pk", flat=True))


def test_the_cache_keeps_the_most_recently_used_versions_within_its_bytes(versions: list[int]):
    probe = ModelCache(1 << 40)
    sizes = {pk: probe.get(pk).nbytes for pk in versions}
    budget = sum(sizes[pk] for pk in versions[-3:])  # room for the last three loaded, in that order
    cache = ModelCache(budget)
    for pk in versions:
        cache.get(pk)
    assert cache.loads == len(versions)
    assert cache.size_bytes <= budget
    kept = [pk for pk in versions if cache.get_loaded(pk) is not None]
    assert kept == versions[len(versions) - len(kept) :]  # the oldest went first
    assert 2 <= len(kept) < len(versions)
    assert cache.size_bytes == sum(sizes[pk] for pk in kept)

    oldest_kept, next_oldest = kept[0], kept[1]
    cache.get(oldest_kept)  # a hit: no load, and it becomes the most recent
    assert cache.loads == len(versions)
    cache.get(versions[0])  # evicted earlier: loaded again, evicting the least recently used
    assert cache.loads == len(versions) + 1
    assert cache.get_loaded(oldest_kept) is not None  # used recently: kept
    assert cache.get_loaded(next_oldest) is None  # now the least recently used: gone first
    assert cache.get_loaded(versions[0]) is not None
    assert cache.size_bytes <= budget


def test_a_version_bigger_than_the_cache_is_still_served(versions: list[int]):
    cache = ModelCache(1)
    first = cache.get(versions[0])
    assert cache.get(versions[0]) is first and cache.loads == 1  # kept alone, not refused
    cache.get(versions[1])
    assert len(cache) == 1 and cache.get_loaded(versions[0]) is None
