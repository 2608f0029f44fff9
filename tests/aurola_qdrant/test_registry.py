from __future__ import annotations

import pytest

from aurola_qdrant import UnknownModelError, get_model_spec, list_models, resolve_model


def test_registry_names_map_to_repo_ids():
    names = {m.name: m.repo_id for m in list_models()}
    assert names == {
        "aurola-3b": "Jazzcharles/AuroLA-3B",
        "aurola-7b": "Jazzcharles/AuroLA-7B",
        "aurola-3b-pt": "Jazzcharles/AuroLA-3B-PT",
        "aurola-7b-pt": "Jazzcharles/AuroLA-7B-PT",
        "aurola-rerank-3b": "Jazzcharles/AuroLA-rerank-3B",
        "aurola-rerank-7b": "Jazzcharles/AuroLA-rerank-7B",
    }
    assert {m.name for m in list_models("reranker")} == {"aurola-rerank-3b", "aurola-rerank-7b"}
    assert resolve_model("aurola-7b") == "Jazzcharles/AuroLA-7B"
    assert get_model_spec("Jazzcharles/AuroLA-3B").name == "aurola-3b"


def test_local_folder_and_repo_id_pass_through(tmp_path):
    assert resolve_model(tmp_path) == str(tmp_path.resolve())
    assert resolve_model("someone/some-model") == "someone/some-model"


@pytest.mark.parametrize("bad", ["aurola-13b", "./missing-folder", "a/b/c", "/nope"])
def test_unknown_name_lists_known_ones(bad):
    with pytest.raises(UnknownModelError) as err:
        resolve_model(bad)
    assert "aurola-3b" in str(err.value) and "aurola-rerank-7b" in str(err.value)
    assert bad in str(err.value)
