"""`aurola-qdrant quickstart`: the whole system offline on one CPU, end to end (timings: BENCHMARKS.md).

Synthetic archive → tiny embedder (Hybrid-NCE from scratch) → tiny re-ranker (hard negatives mined with
the embedder, α tuned on validation) → ingest of the held-out test archive into embedded Qdrant → text
and audio-by-example searches with time-stamped hits → held-out R@1/5/10 with and without re-ranking.
The stages live in `aurola_quickstart.stages` and `aurola_quickstart.archive`; a second run reuses
finished stages.
"""

from __future__ import annotations

import json
import os
import shlex
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from trainer.events import Event

__all__ = ["quickstart"]


def _say(line: str) -> None:
    click.echo(line)


def _progress(event: Event) -> None:
    """A training progress line (`trainer.events`), indented under the stage header."""
    from trainer.cli.progress import echo_event

    click.echo("   ", nl=False)
    echo_event(event)


def _table(result: dict[str, Any], n_clips: int) -> list[str]:
    plain = result["retrieval"]
    ks = list(result["t2a"])
    lines = ["               " + "".join(f"{k:>8}" for k in ks)]
    for direction in ("t2a", "a2t"):
        for label, values in (("plain", plain[direction]), ("re-ranked", result[direction])):
            lines.append(f"   {direction.upper()} {label:<10}" + "".join(f"{values[k]:8.1f}" for k in ks))
    chance = 100.0 * 5 / n_clips
    alpha = result["alpha"]
    lines.append(f"   (in %, chance R@5 = {chance:.1f} %; re-ranked top {result['candidates']}, α tuned on "
                 f"validation: t2a {alpha['t2a']:g}, a2t {alpha['a2t']:g})")  # fmt: skip
    off = [d.upper() for d in ("t2a", "a2t") if alpha[d] == 0]
    if off:
        lines.append(f"   α = 0 ({', '.join(off)}): re-ranking did not raise R@1 on the validation split, so "
                     "fusion keeps the retrieval order there")  # fmt: skip
    return lines


def next_steps(embedder: Path, reranker: Path, qdrant_path: Path) -> list[str]:
    """The closing lines: where the models are, and commands to run them on the user's own files (paths
    absolute and shell-quoted, so the lines can be pasted from any folder)."""
    emb, rr, qp = (shlex.quote(str(p.resolve())) for p in (embedder, reranker, qdrant_path))
    where = f"--collection my-sounds --qdrant-path {qp} --model {emb}"
    return [
        "== your own files",
        f"   embedder:   {embedder.resolve()}",
        f"   re-ranker:  {reranker.resolve()}",
        "   ingest a folder of sounds, then search it (tiny models: expect toy-quality results):",
        f"   aurola-qdrant ingest /path/to/your/sounds {where}",
        f'   aurola-qdrant search "rain on a tin roof" {where} --reranker {rr}',
    ]


@click.command("quickstart", context_settings={"show_default": True})
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("aurola-quickstart"), help="Data, models, Qdrant, results.")  # fmt: skip
@click.option("--qdrant-path", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Embedded Qdrant folder [default: WORKDIR/qdrant].")  # fmt: skip
@click.option("--collection", default="quickstart", help="Collection the test archive is ingested into.")
@click.option("--force", "--fresh", "force", is_flag=True, help="Delete earlier outputs, redo every stage.")
@click.option("--small", "--reduced", "small", is_flag=True, help="Reduced sizes (tests): about 1-2 minutes.")
@click.option("--seed", type=int, default=0, help="Data and training seed.")
def quickstart(
    workdir: Path, qdrant_path: Path | None, collection: str, force: bool, small: bool, seed: int
) -> None:
    """Run the whole system offline on CPU: synthetic archive, training, ingest, search, evaluation."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything is local: never reach for the network
    from .archive import ingest_and_search
    from .stages import QuickstartConfig, Stages, evaluate_stage, prepare_data, train_embedder, train_reranker

    cfg = QuickstartConfig.make(workdir, small=small, seed=seed)
    qdrant_path = qdrant_path or workdir / "qdrant"
    started = time.perf_counter()
    stages = Stages(workdir, force=force, say=_say)
    _say(f"aurola-qdrant quickstart{' (reduced)' if small else ''} in {workdir.resolve()}")
    stages.run("data", cfg.data / "DONE", "1/6 synthetic archive", lambda: prepare_data(cfg, _say))
    stages.run(
        "embedder", cfg.embedder.parent / "DONE", f"2/6 train a tiny embedder with Hybrid-NCE ({cfg.n_train} "
        "clips, from scratch)", lambda: train_embedder(cfg, _progress),
    )  # fmt: skip
    stages.run(
        "reranker", cfg.reranker.parent / "DONE", "3/6 mine hard negatives, train the tiny Yes/No re-ranker, "
        "tune α on validation", lambda: train_reranker(cfg, _progress),
    )  # fmt: skip
    stages.timings.update(ingest_and_search(cfg, qdrant_path, collection, force, _say))
    results_file = workdir / "results.json"

    def evaluate() -> None:
        results = evaluate_stage(cfg, _say)
        results_file.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")

    stages.run("evaluate", workdir / "eval" / "DONE", "6/6 held-out evaluation through Qdrant", evaluate)
    results = json.loads(results_file.read_text(encoding="utf-8"))
    reranked = results["reranked"]
    _say(f"== results on {reranked['n_clips']} held-out clips ({reranked['n_captions']} caption queries)")
    for line in _table(reranked, reranked["n_clips"]):
        _say(line)
    total = time.perf_counter() - started
    timings = {**results.get("timings", {}), **{k: v for k, v in stages.timings.items() if v}}
    results["timings"], results["last_run_s"] = timings, round(total, 1)
    results_file.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    _say("   stage seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
    _say(f"   this run: {total:.1f} s; results in {results_file}")
    for line in next_steps(cfg.embedder, cfg.reranker, qdrant_path):
        _say(line)
