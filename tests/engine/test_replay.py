"""Replaying recorded inputs must grade exactly as the live Hypothesis search does.

Property items are graded from a table of inputs drawn once (and kept in the disk
cache); a failure falls back to the live search to shrink. These tests hold the
shortcut to its promise: same inputs, same verdicts, and a cache that can be lost
or corrupted without changing a grade.
"""

import dataclasses
from pathlib import Path

import pytest
import torch

from grader import cache
from grader.api import grade_submission
from grader.boundary.codec import encode_value
from grader.checks import RUNNERS
from grader.checks import property as prop
from grader.secret import draw_key

SUBMISSIONS = Path(__file__).resolve().parents[2] / "submissions"
# Each bundled student who fails a property item, with that item.
FAILING = {
    "carl_flipped_kernel": "conv_matrix.property",
    "eve_bias_is_output": "linear_region.property",
    "gina_unstable_softmax": "softmax.softmax",
    "jack_weighted_pt": "focal_loss.focal",
    "kate_weights_sum_to_one": "focal_loss.reweight",
}


def item_of(rubric, item_id: str):
    return next(item for item in rubric.items if item.id == item_id)


def encoded(table) -> list:
    return [encode_value(inputs, torch) for inputs in table]


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    """An empty disk cache and no table in memory."""
    monkeypatch.setenv("GRADER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(prop, "_replays", {})
    return tmp_path / "cache"


@pytest.mark.parametrize("item_id", ["conv_matrix.property", "focal_loss.focal"])
def test_the_table_holds_the_inputs_the_live_search_tries_on_a_correct_function(rubric, fresh, item_id):
    item = item_of(rubric, item_id)
    tried = []
    for _, alone in prop.part_items(item):  # an item split into parts searches each part
        prop.search(alone, tried.append, draw_key(rubric.secret))  # final grading's draw, from the secret
    table = prop.replay(rubric, item)
    assert len(table) == len(tried) == sum(alone.examples for _, alone in prop.part_items(item))
    assert encoded(inputs for inputs, _ in table) == encoded(tried)


def test_the_live_search_is_seeded_by_the_item_not_by_the_grader(rubric):
    """Two items with one strategy draw different inputs; one item draws the same inputs every time."""
    item = item_of(rubric, "softmax.gradients")
    twin = dataclasses.replace(item, id="softmax.gradients_again")
    first, again, other = [], [], []
    prop.search(item, first.append)
    prop.search(item, again.append)
    prop.search(twin, other.append)
    assert encoded(first) == encoded(again)
    assert encoded(first) != encoded(other)


def comparable(result) -> list:
    """What the replay must not change: the verdict, the mistake named and the counterexample.
    (Its feedback says more: how many of the table's inputs failed.)"""
    return [(i.id, i.status, i.score, i.output.splitlines()[:2], i.diagnosis, i.counterexample) for i in result.items]


def live_only(ctx, item):
    """A property item graded by the live search alone, part by part."""
    problem = ctx.target_problem(item)
    if problem or not item.parts:
        return problem or prop.live_search(ctx, item)
    return prop._combined(item, [(part, prop.live_search(ctx, alone)) for part, alone in prop.part_items(item)])


@pytest.mark.parametrize("student", sorted(FAILING))
def test_replay_and_live_search_give_the_same_result(rubric, zygote, monkeypatch, student):
    items = [FAILING[student], "conv_matrix.property" if FAILING[student] != "conv_matrix.property" else "softmax.softmax"]
    replayed = grade_submission(SUBMISSIONS / student, rubric, zygote=zygote, items=items)
    monkeypatch.setitem(RUNNERS, "property", live_only)
    live = grade_submission(SUBMISSIONS / student, rubric, zygote=zygote, items=items)
    assert comparable(replayed) == comparable(live)
    statuses = {i.id: i.status for i in replayed.items}
    assert statuses == {items[0]: "partial" if student == "jack_weighted_pt" else "failed", items[1]: "passed"}
    assert replayed.item(items[0]).diagnosis and replayed.item(items[0]).counterexample


def test_the_table_is_kept_on_disk_and_read_back_instead_of_drawn(rubric, fresh, monkeypatch):
    item = item_of(rubric, "mlp.forward")
    drawn = prop.replay(rubric, item)
    assert len(list(fresh.glob("examples-*.msg"))) == 1
    monkeypatch.setattr(prop, "_replays", {})
    monkeypatch.setattr(prop, "_record", lambda item: pytest.fail("drawn again despite the cache"))
    loaded = prop.replay(rubric, item)
    assert encoded(inputs for inputs, _ in loaded) == encoded(inputs for inputs, _ in drawn)
    assert encoded(e for _, e in loaded) == encoded(e for _, e in drawn)


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_a_damaged_cache_entry_is_drawn_again_and_the_grade_is_unchanged(rubric, fresh, zygote, monkeypatch, damage):
    items = ["softmax.softmax"]
    before = grade_submission(SUBMISSIONS / "gina_unstable_softmax", rubric, zygote=zygote, items=items)
    (entry,) = fresh.glob("examples-*.msg")
    data = entry.read_bytes()
    entry.write_bytes({"truncated": data[: len(data) // 2], "garbage": b"\x00" * 12 + data[12:], "empty": b""}[damage])
    monkeypatch.setattr(prop, "_replays", {})
    after = grade_submission(SUBMISSIONS / "gina_unstable_softmax", rubric, zygote=zygote, items=items)
    assert comparable(after) == comparable(before)
    assert entry.read_bytes() == data  # and the entry was written again, whole


def test_caching_off_writes_nothing(rubric, monkeypatch, tmp_path):
    monkeypatch.setenv("GRADER_CACHE_DIR", "off")
    monkeypatch.setattr(prop, "_replays", {})
    monkeypatch.chdir(tmp_path)
    assert cache.cache_dir() is None
    assert prop.replay(rubric, item_of(rubric, "softmax.softmax"))
    assert list(tmp_path.iterdir()) == []


def test_the_key_changes_with_the_reference_source(tmp_path, monkeypatch):
    package = tmp_path / "refpkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "strategies.py").write_text("BOUND = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(cache, "_digests", {})
    first = cache.source_digest("refpkg")
    (package / "strategies.py").write_text("BOUND = 2\n")
    monkeypatch.setattr(cache, "_digests", {})
    assert cache.source_digest("refpkg") != first
    assert cache.key("a", {"refpkg": first}) != cache.key("a", {"refpkg": cache.source_digest("refpkg")})
