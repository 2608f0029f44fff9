"""Write tests/data/golden/{embedder,reranker}.json with the OFFICIAL computation (Qwen2_5OmniProcessor).

Runs ONLY in the reference environment: the processor needs torchvision, which cannot be imported beside the
CPU torch of the project venv. Never collected by pytest (no ``test_`` prefix). Setup, from /work/main:

    python3 -m venv /work/refenv
    /work/refenv/bin/pip install torch==2.14.1 torchvision==0.29.1
    /work/refenv/bin/pip install transformers==5.24.0 librosa soundfile==0.14.0 soxr==1.1.0 numpy==2.4.6 \
        safetensors==0.8.0 tokenizers==0.23.3 huggingface_hub==2.4.0
    /work/refenv/bin/pip install --no-deps -e /work/main

    # checkpoint built by the PROJECT env (seed 0 = default, default sizes: as the tiny_thinker fixture)
    .venv/bin/python -c "from aurola_qdrant.testing import build_tiny_thinker as b; b('/tmp/golden_tiny')"
    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 /work/refenv/bin/python tests/reference/make_golden.py /tmp/golden_tiny

What it computes (METHOD.md): messages from aurola_qdrant.prompts → ``processor.apply_chat_template(...,
tokenize=False)`` → ``processor(text=[...], audio=[...], return_tensors="pt", padding=True)`` (expands
``<|AUDIO|>``, pads features to 300 s, left-pads text) → thinker forward with ``output_hidden_states=True`` →
``hidden_states[-1]`` just before each row's first ``<emb>`` → L2 normalise. Audio is loaded like the official
utilities do: ``librosa.load(path, sr=16000, mono=True)``. Re-ranker: P(Yes) from ``thinker.generate(...,
max_new_tokens=1, output_scores=True)`` ``scores[0]``, cross-checked against a plain forward's last logits.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def _load_inputs():
    spec = importlib.util.spec_from_file_location("aurola_golden_inputs", HERE / "inputs.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


inputs = _load_inputs()


def _ids_sha(ids: list[int]) -> str:
    return hashlib.sha256(json.dumps(ids).encode()).hexdigest()


class Official:
    """The official-style pipeline around Qwen2_5OmniProcessor and the full thinker."""

    def __init__(self, folder: str) -> None:
        import torch
        from transformers import Qwen2_5OmniProcessor, Qwen2_5OmniThinkerForConditionalGeneration

        self.torch = torch
        self.processor = Qwen2_5OmniProcessor.from_pretrained(folder)
        self.model = Qwen2_5OmniThinkerForConditionalGeneration.from_pretrained(folder, dtype=torch.float32)
        self.model.eval()
        tok = self.processor.tokenizer
        if "<emb>" not in tok.get_vocab():  # the tiny folder has it; a stock Qwen2.5-Omni would not
            tok.add_tokens(["<emb>"])
            self.model.resize_token_embeddings(len(tok))
        self.emb_id = tok.convert_tokens_to_ids("<emb>")
        self.pad_id = tok.pad_token_id

    @staticmethod
    def load(path: Path) -> np.ndarray:
        import librosa

        wav, _ = librosa.load(str(path), sr=16000, mono=True)
        return wav

    def process(self, texts: list[str], audios: list[np.ndarray]):
        kw = {"text": texts, "return_tensors": "pt", "padding": True}
        if audios:
            kw["audio"] = audios
        batch = self.processor(**kw)
        if audios:  # the processor pads every clip to the extractor's maximum (300 s = 30000 frames)
            assert batch["input_features"].shape[-1] == 30000, batch["input_features"].shape
        mask = batch["attention_mask"]
        if len(texts) > 1:  # left padding: every row ends with a real token
            assert bool(mask[:, -1].all()), "expected left padding"
        batch.pop("num_audio_tokens", None)
        return batch

    def embed(self, messages: list[list[dict]], audios: list[np.ndarray]) -> tuple[np.ndarray, list[dict]]:
        torch = self.torch
        texts = [self.processor.apply_chat_template(m, tokenize=False) for m in messages]
        batch = self.process(texts, audios)
        with torch.no_grad():
            out = self.model(**batch, output_hidden_states=True)
        hidden = out.hidden_states[-1]
        vecs, rows = [], []
        for r in range(hidden.shape[0]):
            ids = batch["input_ids"][r][batch["attention_mask"][r].bool()].tolist()
            pos_in_row = ids.index(self.emb_id) - 1
            offset = int((~batch["attention_mask"][r].bool()).sum())  # left padding
            assert batch["input_ids"][r, offset + pos_in_row + 1].item() == self.emb_id
            v = torch.nn.functional.normalize(hidden[r, offset + pos_in_row].float(), dim=-1)
            vecs.append(v.numpy())
            prompt = ids[: pos_in_row + 1]  # everything up to and including the read position
            rows.append({"prompt_len": len(prompt), "prompt_ids_sha256": _ids_sha(prompt)})
        return np.stack(vecs).astype(np.float32), rows

    def p_yes(self, messages: list[dict], audios: list[np.ndarray], yes: int, no: int) -> dict:
        torch = self.torch
        text = self.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        batch = self.process([text], audios)
        with torch.no_grad():
            gen = self.model.generate(
                **batch,
                max_new_tokens=1,
                output_scores=True,
                return_dict_in_generate=True,
                do_sample=False,
            )
            logits = self.model(**batch).logits[0, -1].float()
        scores = gen.scores[0][0].float()
        pair = torch.stack([scores[yes], scores[no]])
        pair_fwd = torch.stack([logits[yes], logits[no]])
        p = torch.softmax(pair, 0)[0].item()
        p_fwd = torch.softmax(pair_fwd, 0)[0].item()
        assert abs(p - p_fwd) <= 1e-6 and torch.allclose(pair, pair_fwd, atol=1e-5), (pair, pair_fwd)
        ids = batch["input_ids"][0].tolist()
        return {
            "p_yes": p,
            "logit_yes": pair[0].item(),
            "logit_no": pair[1].item(),
            "prompt_len": len(ids),
            "prompt_ids_sha256": _ids_sha(ids),
        }


def _versions() -> dict:
    import librosa
    import soundfile
    import soxr
    import torch
    import torchvision
    import transformers

    return {
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "transformers": transformers.__version__,
        "librosa": librosa.__version__,
        "soundfile": soundfile.__version__,
        "soxr": soxr.__version__,
        "numpy": np.__version__,
    }


def _header(folder: str, kind: str) -> dict:
    from aurola_qdrant.prompts import PROMPT_VERSION

    return {
        "format": f"aurola-golden-{kind}/1",
        "checkpoint": {
            "builder": "aurola_qdrant.testing.build_tiny_thinker(dir, seed=0)  # default sizes",
            "digest": inputs.checkpoint_digest(folder),
            "digest_fn": "tests/reference/inputs.py:checkpoint_digest",
        },
        "prompt_version": PROMPT_VERSION,
        "versions": _versions(),
        "generated_by": "tests/reference/make_golden.py (Qwen2_5OmniProcessor + librosa.load)",
    }


def _vec_list(v: np.ndarray) -> list[list[float]]:
    return [[float(x) for x in row] for row in np.asarray(v, dtype=np.float32)]


def _audio_desc(name: str, path: Path) -> dict:
    return {**inputs.clip_description(name), "sha256": inputs.file_sha256(path)}


def make_embedder(off: Official, folder: str, work: Path) -> dict:
    from aurola_qdrant.prompts import audio_embed_messages, text_embed_messages

    cases = []
    audio_cases = dict(inputs.EMBED_AUDIO_CASES)
    reals = [p.name for p in inputs.real_files()]
    audio_cases.update({f"real_{n}": [n] for n in reals})
    audio_cases["real_batch"] = reals
    for name, clips in audio_cases.items():
        paths = [inputs.clip_path(c, work) for c in clips]
        vecs, rows = off.embed([audio_embed_messages() for _ in clips], [off.load(p) for p in paths])
        cases.append(
            {
                "name": name,
                "kind": "audio",
                "inputs": [_audio_desc(c, p) for c, p in zip(clips, paths, strict=True)],
                "rows": rows,
                "vectors": _vec_list(vecs),
            }
        )
        print(f"{name}: {len(clips)} clip(s), prompt lens {[r['prompt_len'] for r in rows]}", file=sys.stderr)
    for name, texts in inputs.EMBED_TEXT_CASES.items():
        vecs, rows = off.embed([text_embed_messages(t) for t in texts], [])
        cases.append(
            {"name": name, "kind": "text", "inputs": texts, "rows": rows, "vectors": _vec_list(vecs)}
        )
        print(f"{name}: {len(texts)} text(s)", file=sys.stderr)
    return {**_header(folder, "embedder"), "dim": int(vecs.shape[1]), "cases": cases}


def make_reranker(off: Official, folder: str, work: Path) -> dict:
    from aurola_qdrant.prompts import rerank_a2t_messages, rerank_t2a_messages

    tok = off.processor.tokenizer
    yes = tok.encode("Yes", add_special_tokens=False)[0]
    no = tok.encode("No", add_special_tokens=False)[0]
    queries = []
    for caption, clips in inputs.RERANK_T2A:
        paths = [inputs.clip_path(c, work) for c in clips]
        results = [off.p_yes(rerank_t2a_messages(caption), [off.load(p)], yes, no) for p in paths]
        queries.append(
            {
                "direction": "t2a",
                "query": {"caption": caption},
                "candidates": [{"audio": _audio_desc(c, p)} for c, p in zip(clips, paths, strict=True)],
                "results": results,
            }
        )
    for clip, captions in inputs.RERANK_A2T:
        path = inputs.clip_path(clip, work)
        wav = off.load(path)
        results = [off.p_yes(rerank_a2t_messages(c), [wav], yes, no) for c in captions]
        queries.append(
            {
                "direction": "a2t",
                "query": {"audio": _audio_desc(clip, path)},
                "candidates": [{"caption": c} for c in captions],
                "results": results,
            }
        )
    for q in queries:
        print(q["direction"], [round(r["p_yes"], 4) for r in q["results"]], file=sys.stderr)
    return {
        **_header(folder, "reranker"),
        "yes_token": {"text": "Yes", "id": yes, "token": tok.convert_ids_to_tokens(yes)},
        "no_token": {"text": "No", "id": no, "token": tok.convert_ids_to_tokens(no)},
        "score": "p_yes = softmax([z_Yes, z_No])[0], z = generate(max_new_tokens=1).scores[0] = last logits",
        "queries": queries,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", help="folder built by build_tiny_thinker(dir, seed=0) in the project env")
    ap.add_argument("--out", default=str(REPO / "tests" / "data" / "golden"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    off = Official(args.checkpoint)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        emb = make_embedder(off, args.checkpoint, work)
        rr = make_reranker(off, args.checkpoint, work)
    (out / "embedder.json").write_text(json.dumps(emb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "reranker.json").write_text(json.dumps(rr, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out}/embedder.json and reranker.json", file=sys.stderr)


if __name__ == "__main__":
    main()
