"""The ruleset registry without servers: versions are immutable, the file and its published copy
are one ruleset (same hash, same results), engines are built per version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from service.engine import Engine, load_ruleset
from service.registry.engines import EngineCache, seed
from service.registry.store import MemoryStore, RulesetRecord, UnknownVersion, VersionConflict
from tests.unit.conftest import MINI, SHIPPED


def test_a_published_copy_is_the_same_ruleset_as_its_file(tomahawk: dict[str, Any]) -> None:
    store = MemoryStore()
    version = seed(store, SHIPPED)
    cache = EngineCache(store, "durable")
    published = cache.ruleset(version)
    from_file = load_ruleset(SHIPPED)
    assert published.content_hash == from_file.content_hash
    assert [c.name for c in published.criteria] == [c.name for c in from_file.criteria]
    assert cache.engine(version).evaluate(tomahawk) == Engine(from_file).evaluate(tomahawk)


def test_versions_are_immutable_and_activation_is_logged() -> None:
    store = MemoryStore()
    ruleset = load_ruleset(MINI)
    assert store.add(RulesetRecord.of(ruleset, "first", "a")) is True
    assert store.add(RulesetRecord.of(ruleset, "again", "b")) is False
    altered = RulesetRecord(ruleset.version, ruleset.name, "sha256:other", "{}", "", "", "")
    with pytest.raises(VersionConflict):
        store.add(altered)
    with pytest.raises(UnknownVersion):
        store.activate("9.9", "a")
    store.activate_if_none(ruleset.version, "service")
    store.activate_if_none("ignored", "service")  # only when none is active
    assert store.active_version() == ruleset.version
    assert [a["version"] for a in store.activations()] == [ruleset.version]


def test_seed_refuses_a_file_edited_without_a_new_version(tmp_path: Path) -> None:
    store = MemoryStore()
    seed(store, MINI)
    edited = tmp_path / "ruleset.yaml"
    edited.write_text(MINI.read_text().replace("points: 20", "points: 21").replace(
        "context: context.yaml", f"context: {MINI.parent / 'context.yaml'}"))
    with pytest.raises(VersionConflict, match="publish it under a new version"):
        seed(store, edited)


def test_engine_cache_seeds_an_empty_store_and_keeps_a_few_engines() -> None:
    store = MemoryStore()
    cache = EngineCache(store, "native", seed_path=MINI, capacity=1)
    first = cache.engine()  # nothing published: the file is seeded and activated
    assert store.active_version() == "1.0.0"
    assert cache.engine("1.0.0") is first
    with pytest.raises(UnknownVersion):
        cache.engine("2.0.0")


def test_a_stored_document_altered_behind_the_registry_is_refused() -> None:
    store = MemoryStore()
    version = seed(store, MINI)
    record = store.get(version)
    assert record is not None
    store._records[version] = RulesetRecord(  # what a hand edit in Redis would do
        version, record.name, record.hash, record.document.replace('"points":20', '"points":2'),
        record.note, record.author, record.created_at)
    with pytest.raises(RuntimeError, match="does not match its content"):
        EngineCache(store, "native").ruleset(version)
