"""Deterministic inputs for the golden parity files, importable from both environments.

Used by ``tests/reference/make_golden.py`` (reference env: torchvision + the official processor) and by
``tests/aurola_qdrant/test_golden_parity.py`` (CI env). Only numpy, soundfile, json and hashlib are used, so
the two environments write byte-identical WAV files from the same `ClipSpec`.

Clips are written as WAV PCM_16: the signal (tones + a chirp + seeded noise, under a slow envelope) is
computed in float64, scaled to a 0.8 peak and quantised to int16 by numpy (not by libsndfile), so the file
bytes depend on numpy alone. Their sha256 is recorded in the golden file and checked before comparing.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

__all__ = [
    "CLIPS",
    "EMBED_AUDIO_CASES",
    "EMBED_TEXT_CASES",
    "REAL_DIR",
    "RERANK_A2T",
    "RERANK_T2A",
    "ClipSpec",
    "checkpoint_digest",
    "file_sha256",
    "real_files",
    "write_clip",
]

REAL_DIR = Path(__file__).resolve().parents[1] / "data" / "real"


@dataclass(frozen=True)
class ClipSpec:
    """One synthetic clip: ``duration_s`` seconds at ``sample_rate`` Hz with ``channels`` channels."""

    name: str
    duration_s: float
    sample_rate: int
    channels: int
    seed: int

    @property
    def filename(self) -> str:
        return f"{self.name}.wav"


def _spec(name: str, duration_s: float, sample_rate: int, channels: int, seed: int) -> ClipSpec:
    return ClipSpec(name, duration_s, sample_rate, channels, seed)


CLIPS: dict[str, ClipSpec] = {
    s.name: s
    for s in [
        # durations (16 kHz mono: no resampling, no mix-down)
        _spec("dur_0.3s", 0.3, 16000, 1, 1),
        _spec("dur_1s", 1.0, 16000, 1, 2),
        _spec("dur_10s", 10.0, 16000, 1, 3),
        _spec("dur_30s", 30.0, 16000, 1, 4),
        _spec("dur_45s", 45.0, 16000, 1, 5),
        # input sample rates (mono, 2.5 s)
        _spec("sr_8000", 2.5, 8000, 1, 6),
        _spec("sr_22050", 2.5, 22050, 1, 7),
        _spec("sr_44100", 2.5, 44100, 1, 8),
        _spec("sr_48000", 2.5, 48000, 1, 9),
        # channel layouts
        _spec("ch_mono_44100", 3.0, 44100, 1, 10),
        _spec("ch_stereo_48000", 3.0, 48000, 2, 11),
        _spec("ch_6_44100", 3.0, 44100, 6, 12),
        _spec("ch_stereo_16000", 1.7, 16000, 2, 13),
        # members of the mixed-length batch of 8 (various lengths, rates and layouts)
        _spec("mix_a", 0.5, 16000, 1, 21),
        _spec("mix_b", 7.3, 22050, 2, 22),
        _spec("mix_c", 1.2, 48000, 1, 23),
        _spec("mix_d", 12.0, 16000, 1, 24),
        _spec("mix_e", 3.3, 44100, 6, 25),
        _spec("mix_f", 0.9, 8000, 1, 26),
        _spec("mix_g", 5.0, 16000, 2, 27),
        _spec("mix_h", 2.05, 32000, 1, 28),
    ]
}

# Embedding cases: name -> clip names, all processed as ONE processor/model batch.
EMBED_AUDIO_CASES: dict[str, list[str]] = {
    **{n: [n] for n in CLIPS if not n.startswith("mix_")},
    "batch_1": ["mix_g"],
    "batch_8": [f"mix_{c}" for c in "abcdefgh"],
}

_LONG_TEXT = (
    "A long field recording: heavy rain drums steadily on a tin roof while distant thunder rolls, a dog "
    "barks twice somewhere to the left, a car engine idles and then pulls away, people talk quietly in the "
    "background, birds chirp between the gusts of wind, and a train horn sounds far away as the rain "
    "slowly fades into a soft, steady drizzle with water dripping from the gutters. " * 3
).strip()

EMBED_TEXT_CASES: dict[str, list[str]] = {
    "text_short": ["dog bark"],
    "text_long": [_LONG_TEXT],
    "text_non_ascii": ["Ein Hund bellt laut – 犬が吠える、雨の音 🌧️ café naïve"],
    "text_batch": [
        "a loud steady engine",
        "birds",
        "rain on a roof with distant thunder and people talking quietly",
        "Ein Hund bellt – 犬が吠える",
        "quiet high pitch tone",
    ],
}

# Re-ranker cases: (query, [candidates]); audio is a clip name or a real file name.
RERANK_T2A: list[tuple[str, list[str]]] = [
    (
        "a dog barks while rain falls on a tin roof",
        ["dur_1s", "sr_22050", "ch_stereo_48000", "mix_d", "complete.oga"],
    ),
    ("a quiet high pitch tone", ["dur_0.3s", "mix_a", "sr_8000", "dur_10s", "Front_Center.wav"]),
]
RERANK_A2T: list[tuple[str, list[str]]] = [
    (
        "sr_44100",
        [
            "a loud steady engine",
            "birds",
            "rain on a roof with distant thunder",
            "Ein Hund bellt – 犬が吠える",
            "tone",
        ],
    ),
    (
        "service-login.oga",
        [
            "a short chime",
            "people talking",
            "a quiet high pitch tone rising and falling",
            "water",
            "dog bark",
        ],
    ),
]


def _signal(spec: ClipSpec) -> np.ndarray:
    """(frames, channels) float64 in [-0.8, 0.8]: two tones, a chirp and noise per channel."""
    rng = np.random.default_rng(spec.seed)
    n = round(spec.duration_s * spec.sample_rate)
    t = np.arange(n, dtype=np.float64) / spec.sample_rate
    top = min(4000.0, spec.sample_rate / 2.5)
    chans = []
    for _ in range(spec.channels):
        f1, f2 = rng.uniform(80.0, top, size=2)
        a1, a2 = rng.uniform(0.2, 1.0, size=2)
        f0, f_end = rng.uniform(100.0, top, size=2)
        sweep = f0 + (f_end - f0) * t / max(spec.duration_s, 1e-9)
        chirp = np.sin(2 * np.pi * np.cumsum(sweep) / spec.sample_rate)
        env = 0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.2, 3.0) * t + rng.uniform(0, 2 * np.pi))
        x = env * (a1 * np.sin(2 * np.pi * f1 * t) + a2 * np.sin(2 * np.pi * f2 * t) + 0.5 * chirp)
        x = x + rng.uniform(0.05, 0.4) * rng.standard_normal(n)
        chans.append(x)
    sig = np.stack(chans, axis=1)
    return 0.8 * sig / np.max(np.abs(sig))


def write_clip(spec: ClipSpec | str, folder: str | Path) -> Path:
    """Write the clip (WAV PCM_16) into ``folder`` and return its path; same bytes on every run."""
    spec = CLIPS[spec] if isinstance(spec, str) else spec
    pcm = np.round(_signal(spec) * 32767.0).astype(np.int16)
    path = Path(folder) / spec.filename
    sf.write(path, pcm, spec.sample_rate, subtype="PCM_16", format="WAV")
    return path


def real_files() -> list[Path]:
    """The real-world sound files shipped in tests/data/real (sorted by name)."""
    return sorted(p for p in REAL_DIR.iterdir() if p.suffix.lower() in {".wav", ".oga", ".ogg", ".flac"})


def clip_path(name: str, folder: str | Path) -> Path:
    """Path of a clip name or real-file name, writing synthetic clips into ``folder`` as needed."""
    if name in CLIPS:
        path = Path(folder) / CLIPS[name].filename
        return path if path.exists() else write_clip(name, folder)
    return REAL_DIR / name


def clip_description(name: str) -> dict:
    if name in CLIPS:
        return {"file": CLIPS[name].filename, "generated": asdict(CLIPS[name]), "format": "WAV PCM_16"}
    return {"file": f"tests/data/real/{name}", "generated": None}


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def checkpoint_digest(folder: str | Path) -> str:
    """sha256 over every safetensors tensor (name, dtype, shape, raw bytes; sorted by name) and
    tokenizer.json. Independent of metadata, shard layout and library versions that wrote the folder."""
    folder = Path(folder)
    h = hashlib.sha256()
    tensors: dict[str, tuple[Path, dict, int]] = {}
    for shard in sorted(folder.glob("*.safetensors")):
        with shard.open("rb") as f:
            (hlen,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(hlen))
        for name, meta in header.items():
            if name != "__metadata__":
                tensors[name] = (shard, meta, 8 + hlen)
    if not tensors:
        raise FileNotFoundError(f"no *.safetensors tensors in {folder}")
    for name in sorted(tensors):
        shard, meta, base = tensors[name]
        start, end = meta["data_offsets"]
        with shard.open("rb") as f:
            f.seek(base + start)
            data = f.read(end - start)
        h.update(f"{name}|{meta['dtype']}|{meta['shape']}|".encode())
        h.update(data)
    h.update(b"tokenizer.json|")
    h.update((folder / "tokenizer.json").read_bytes())
    return h.hexdigest()
