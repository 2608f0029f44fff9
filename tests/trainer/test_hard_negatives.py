"""Hard-negative mining: the band arithmetic by hand, and that a true match is never returned as a negative
(several captions per clip, one caption text on two clips, the same audio twice, metadata groups)."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from trainer.hard_negatives import (
    MinedNegatives,
    MiningConfig,
    band_negatives,
    clip_texts,
    mine_hard_negatives,
)
from trainer.manifest import ManifestItem, read_manifest
from trainer.synthetic import generate_dataset


def test_band_by_hand() -> None:
    sim = np.array([[0.9, 0.8, 0.95, 0.1, 0.7], [0.2, 0.6, 0.5, 0.4, 0.3]])
    match = np.array([[False, True, False, False, False], [False, False, False, False, False]])
    wide = MiningConfig(pool=None, keep=10, margin=-1.0, ceiling=None)
    assert band_negatives(sim, match, wide) == [[2, 0, 4, 3], [1, 2, 3, 4, 0]]  # hardest first, no match
    # margin 0: nothing above the positive's 0.8; row 1 has no match, so only the ceiling applies
    assert band_negatives(sim, match, replace(wide, margin=0.0)) == [[4, 3], [1, 2, 3, 4, 0]]
    assert band_negatives(sim, match, replace(wide, margin=0.15)) == [[3], [1, 2, 3, 4, 0]]
    assert band_negatives(sim, match, replace(wide, ceiling=0.5)) == [[3], [2, 3, 4, 0]]
    # pool: only the top 3 retrieved are candidates; keep: at most 2 kept
    assert band_negatives(sim, match, replace(wide, pool=3)) == [[2, 0], [1, 2, 3]]
    assert band_negatives(sim, match, replace(wide, keep=2)) == [[2, 0], [1, 2]]
    with pytest.raises(ValueError, match="same 2-D shape"):
        band_negatives(sim, match[:1], wide)
    with pytest.raises(ValueError, match="keep"):
        MiningConfig(keep=0)


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


@pytest.fixture(scope="module")
def tricky_items(tmp_path_factory: pytest.TempPathFactory) -> list[ManifestItem]:
    """Synthetic clips plus: a duplicate caption on two clips (different spacing/case), the same audio
    file copied under another name with different captions, and two clips sharing a metadata group."""
    folder = tmp_path_factory.mktemp("mining")
    items = read_manifest(generate_dataset(folder, 12, seed=5, n_captions=3))
    shared = items[0].captions[1]
    items[1] = replace(items[1], captions=(*items[1].captions, "  " + shared.upper() + " "))
    copy = folder / "copy_of_2.wav"
    shutil.copy(items[2].audio, copy)
    items.append(ManifestItem(audio=copy, captions=("a copy of clip two, captioned differently",)))
    items[3] = replace(items[3], metadata={**items[3].metadata, "source": "rec-7"})
    items[4] = replace(items[4], metadata={**items[4].metadata, "source": "rec-7"})
    return items


def _clip_norm_texts(items: list[ManifestItem], group_key: str | None) -> list[set[str]]:
    """Independent ground truth: every text that describes clip c (its own, same audio, same group)."""
    same = [
        {j for j, b in enumerate(items) if Path(b.audio).read_bytes() == Path(a.audio).read_bytes()}
        for a in items
    ]
    if group_key:
        for i, a in enumerate(items):
            g = a.metadata.get(group_key)
            if g is not None:
                same[i] |= {j for j, b in enumerate(items) if b.metadata.get(group_key) == g}
    return [{_norm(t) for j in same[i] for t in clip_texts(items[j])} for i in range(len(items))]


@pytest.mark.parametrize("group_key", [None, "source"])
def test_mining_never_returns_a_true_match(tiny_embedder, tricky_items, group_key, tmp_path: Path) -> None:
    # the widest band (nothing filtered by similarity): only the matching logic keeps matches out
    config = MiningConfig(pool=None, keep=1000, margin=-10.0, ceiling=None, group_key=group_key)
    mined = mine_hard_negatives(tricky_items, tiny_embedder, config)
    truth = _clip_norm_texts(tricky_items, group_key)
    n = len(tricky_items)
    for t, text in enumerate(mined.texts):
        assert mined.t2a[t], "every text has some negatives"
        for clip in mined.t2a[t]:
            assert _norm(text) not in truth[clip], (text, clip)
        assert set(mined.t2a[t]) | set(mined.owners[t]) == set(range(n))  # everything else is a negative
    for clip in range(n):
        for t in mined.a2t[clip]:
            assert _norm(mined.texts[t]) not in truth[clip], (clip, mined.texts[t])
        assert {_norm(mined.texts[t]) for t in mined.clip_texts[clip]} == truth[clip]
    # the specific traps
    shared = next(t for t, s in enumerate(mined.texts) if _norm(s) == _norm(tricky_items[0].captions[1]))
    assert {0, 1} <= set(mined.owners[shared])
    copy_caption = mined.texts.index("a copy of clip two, captioned differently")
    assert {2, n - 1} <= set(mined.owners[copy_caption])
    own3 = mined.texts.index(tricky_items[3].captions[0])
    assert (4 in mined.owners[own3]) == (group_key == "source")
    # round trip through the cache file
    assert MinedNegatives.load(mined.save(tmp_path / "neg.json")) == mined


def test_default_band_only_removes_candidates(tiny_embedder, tricky_items) -> None:
    wide = mine_hard_negatives(tricky_items, tiny_embedder, MiningConfig(pool=None, keep=1000, margin=-10.0))
    banded = mine_hard_negatives(tricky_items, tiny_embedder, MiningConfig(pool=5, keep=3, ceiling=0.9))
    assert banded.texts == wide.texts
    for narrow, full in zip(banded.t2a + banded.a2t, wide.t2a + wide.a2t, strict=True):
        assert len(narrow) <= 3 and set(narrow) <= set(full)
