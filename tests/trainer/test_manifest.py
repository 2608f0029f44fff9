"""Manifest format: round trip, caption drawing, every malformed-line error, tag vocabularies."""

from __future__ import annotations

import json
import pickle
import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from aurola_qdrant.errors import AurolaError
from trainer.manifest import (
    ManifestError,
    ManifestItem,
    draw_caption,
    load_tag_vocabulary,
    read_manifest,
    tag_cluster_set,
    write_manifest,
    write_tag_vocabulary,
)


def _write_lines(path: Path, rows: list) -> Path:
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8"
    )
    return path


def test_round_trip_and_relative_paths(tmp_path: Path):
    items = [
        ManifestItem(
            audio=tmp_path / "audio" / "a.wav",
            captions=("A dog barks twice.", "Two barks from a dog."),
            caption_long="A dog barks twice near a road.",
            caption_short="dog barking",
            tags=("dog", "bark"),
            start_s=1.5,
            end_s=4.0,
            id="clip-1",
            metadata={"source": "x", "n": 3},
        ),
        ManifestItem(audio=Path("/elsewhere/b.flac"), caption_short="rain", id="clip-2"),
    ]
    manifest = write_manifest(tmp_path / "m.jsonl", items)
    first = json.loads(manifest.read_text().splitlines()[0])
    assert first["audio"] == "audio/a.wav"
    assert json.loads(manifest.read_text().splitlines()[1])["audio"] == "/elsewhere/b.flac"
    assert read_manifest(manifest) == items
    assert items[1].captions == ("rain",)


def test_plain_caption_items(tmp_path: Path):
    manifest = _write_lines(
        tmp_path / "m.jsonl",
        [
            {"audio": "x.wav", "caption": "a bell rings"},
            "",
            {"audio": "sub/y.wav", "caption": ["one", "two", "three"], "id": 7},
        ],
    )
    a, b = read_manifest(manifest)
    assert a.audio == tmp_path.absolute() / "x.wav" and a.captions == ("a bell rings",)
    assert b.audio == tmp_path.absolute() / "sub" / "y.wav" and b.id == "7"
    assert a.granularities() == [] and a.tags == () and a.metadata == {}
    rng = np.random.default_rng(0)
    drawn = Counter(draw_caption(b, rng) for _ in range(900))
    assert set(drawn) == {("one", False), ("two", False), ("three", False)}
    assert min(drawn.values()) > 240


def test_captions_derived_from_granular_fields():
    item = ManifestItem(audio=Path("a.wav"), caption_long="long text", tags=("t1", "t2"))
    assert item.captions == ("long text",)
    assert ManifestItem(audio=Path("a.wav"), tags=("t1", "t2")).captions == ("t1, t2",)
    assert item.granularities() == [("long", "long text"), ("tags", "t1, t2")]
    with pytest.raises(ValueError, match="no caption"):
        ManifestItem(audio=Path("a.wav"))
    with pytest.raises(ValueError, match="end_s"):
        ManifestItem(audio=Path("a.wav"), captions=("x",), start_s=2.0, end_s=2.0)


@pytest.mark.parametrize("make_rng", [lambda: np.random.default_rng(1), lambda: random.Random(1)])
def test_draw_caption_is_uniform_over_granularities(make_rng):
    item = ManifestItem(audio=Path("a.wav"), caption_long="L", caption_short="S", tags=("a", "b"))
    rng = make_rng()
    drawn = Counter(draw_caption(item, rng) for _ in range(3000))
    assert set(drawn) == {("L", False), ("S", False), ("a, b", True)}
    assert all(850 < count < 1150 for count in drawn.values())
    again = [draw_caption(item, make_rng()) for _ in range(5)]
    assert len(set(again)) == 1  # same seed, same draw


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ('{"audio": "a.wav", "caption": ', "not valid JSON"),
        ('["a.wav", "x"]', "expected a JSON object"),
        ({"caption": "x"}, "missing 'audio'"),
        ({"audio": 3, "caption": "x"}, "'audio' must be a non-empty string"),
        ({"audio": "  ", "caption": "x"}, "'audio' must be a non-empty string"),
        ({"audio": "a.wav"}, "no caption"),
        ({"audio": "a.wav", "tags": []}, "no caption"),
        ({"audio": "a.wav", "caption": 5}, "'caption' must be a string or a list of strings"),
        ({"audio": "a.wav", "caption": ["ok", 1]}, "'caption' must be a string or a list of strings"),
        ({"audio": "a.wav", "caption": ["ok", ""]}, "'caption' contains an empty string"),
        ({"audio": "a.wav", "caption_long": 1}, "'caption_long' must be a non-empty string"),
        ({"audio": "a.wav", "caption_short": ""}, "'caption_short' must be a non-empty string"),
        ({"audio": "a.wav", "tags": "dog"}, "'tags' must be a list of strings"),
        ({"audio": "a.wav", "tags": ["dog", 2]}, "'tags' must be a string or a list of strings"),
        ({"audio": "a.wav", "caption": "x", "start_s": "1"}, "'start_s' must be a number"),
        ({"audio": "a.wav", "caption": "x", "end_s": True}, "'end_s' must be a number"),
        ({"audio": "a.wav", "caption": "x", "start_s": 3, "end_s": 1}, "end_s=1.0 is not after"),
        ({"audio": "a.wav", "caption": "x", "start_s": -1}, "negative"),
        ({"audio": "a.wav", "caption": "x", "id": [1]}, "'id' must be a string"),
        ({"audio": "a.wav", "caption": "x", "metadata": [1]}, "'metadata' must be a JSON object"),
    ],
)
def test_malformed_lines_name_file_and_line(tmp_path: Path, line, match):
    good = {"audio": "ok.wav", "caption": "fine"}
    manifest = _write_lines(tmp_path / "bad.jsonl", [good, "", line])
    with pytest.raises(ManifestError, match=match) as info:
        read_manifest(manifest)
    assert info.value.line == 3 and info.value.path == str(manifest)
    assert "bad.jsonl:3:" in str(info.value)
    assert isinstance(info.value, AurolaError) and isinstance(info.value, ValueError)
    copy = pickle.loads(pickle.dumps(info.value))
    assert str(copy) == str(info.value)


@pytest.mark.parametrize("name", ["vocab.json", "vocab.tsv"])
def test_tag_vocabulary_round_trip(tmp_path: Path, name):
    vocab = {"dog": 0, "dog barking": 0, "siren": 1, "rain": 2}
    assert load_tag_vocabulary(write_tag_vocabulary(tmp_path / name, vocab)) == vocab


def test_tag_vocabulary_normalises_and_rejects_bad_entries(tmp_path: Path):
    tsv = tmp_path / "v.tsv"
    tsv.write_text("# comment\nDog  Bark\t4\n\nsiren\t5\n")
    assert load_tag_vocabulary(tsv) == {"dog bark": 4, "siren": 5}
    tsv.write_text("dog\t1\nsiren five\n")
    with pytest.raises(ManifestError, match=r"v.tsv:2: expected 'tag<TAB>cluster_id'"):
        load_tag_vocabulary(tsv)
    tsv.write_text("dog\t1\nDOG\t2\n")
    with pytest.raises(ManifestError, match="two clusters"):
        load_tag_vocabulary(tsv)
    js = tmp_path / "v.json"
    js.write_text('{"dog": "1"}')
    with pytest.raises(ManifestError, match="integer id"):
        load_tag_vocabulary(js)
    js.write_text('{"dog": 1,')
    with pytest.raises(ManifestError, match="not valid JSON"):
        load_tag_vocabulary(js)


def test_tag_cluster_set():
    vocab = {"dog": 0, "dog barking": 0, "siren": 1}
    assert tag_cluster_set(["dog", "siren"], vocab) == frozenset({0, 1})
    assert tag_cluster_set(["Dog  Barking ", "siren"], vocab) == tag_cluster_set(["dog", "siren"], vocab)
    unknown = tag_cluster_set(["dog", "kazoo"], vocab)
    assert len(unknown) == 2 and min(unknown) < 0
    assert unknown == tag_cluster_set(["Kazoo", "dog"], vocab)  # stable, normalised
    assert unknown != tag_cluster_set(["dog", "tuba"], vocab)
    assert tag_cluster_set(["dog", "kazoo"], vocab) != tag_cluster_set(["dog"], vocab)
    assert tag_cluster_set([], vocab) == frozenset()
