"""Help texts quote the config objects' defaults (so they cannot drift), and progress lines carry an ETA."""

from __future__ import annotations

from click.testing import CliRunner

from aurola_qdrant.cli import main
from trainer.cli.options import describe_grid, show_value
from trainer.cli.progress import format_duration
from trainer.config import TINY_DEFAULTS, TrainConfig
from trainer.evaluate import DEFAULT_ALPHA_GRID
from trainer.rerank_config import RERANK_ALPHA_GRID, TINY_RERANK_DEFAULTS, RerankTrainConfig


def _help(command: str) -> str:
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())  # undo click's line wrapping


def _option_help(text: str, option: str) -> str:
    """The help of ``option`` as filled in when ``text`` (the whole help) was shown."""
    command = text.split("Usage: main ", 1)[1].split(" ", 1)[0]
    cmd = main.get_command(None, command)  # type: ignore[arg-type]
    param = next(p for p in cmd.params if option in getattr(p, "opts", ()))
    return " ".join(str(param.help).split())


def test_train_reranker_help_quotes_the_tiny_recipe() -> None:
    text = _help("train-reranker")
    lr = _option_help(text, "--lr")
    assert f"default: {show_value(RerankTrainConfig.lr)}; {show_value(TINY_RERANK_DEFAULTS['lr'])} with" in lr
    assert "2e-3" in lr and "1e-3" not in lr  # the value the code uses (it once said 1e-3)
    assert describe_grid(RERANK_ALPHA_GRID).startswith("0, ") and describe_grid(RERANK_ALPHA_GRID) in text
    assert "{" not in text  # every placeholder was filled


def test_train_help_covers_every_loss_option_with_its_default() -> None:
    text = _help("train")
    for option, field in (("--tau", "tau"), ("--lam", "lam"), ("--beta", "beta"), ("--alpha", "alpha"),
                          ("--weight-decay", "weight_decay")):  # fmt: skip
        assert f"[default: {show_value(getattr(TrainConfig, field))}]" in _option_help(text, option), option
    assert "R@k" in _option_help(text, "--val-manifest")
    assert f"{show_value(TINY_DEFAULTS['lr'])} with --init-tiny" in _option_help(text, "--lr")
    assert "{d[" not in text and "{tiny[" not in text


def test_every_training_and_eval_option_has_help() -> None:
    for command in ("train", "train-reranker", "eval"):
        cmd = main.get_command(None, command)  # type: ignore[arg-type]
        bare = [p.name for p in cmd.params if getattr(p, "help", None) in (None, "")]
        assert bare == [], (command, bare)


def test_eval_help_states_the_grid_the_code_uses() -> None:
    tune = _option_help(_help("eval"), "--tune-alpha-on")
    # the grid is the fusion module's one grid now, 0 included (it once said "no 0": eval's own grid)
    assert describe_grid(DEFAULT_ALPHA_GRID) in tune and "0.1-3 step 0.1" in tune and "grid 0, " in tune


def test_progress_lines_carry_elapsed_and_eta(capsys) -> None:
    from trainer.cli.progress import echo_event as rerank_line
    from trainer.cli.progress import echo_event as train_line
    from trainer.events import StepEvent

    info = {"stage": "main", "step": 10, "total": 40, "epoch": 0, "loss": 1.0, "lr": 1e-3, "rate": 5.0,
            "unit": "pairs", "elapsed_s": 62.0, "eta_s": 186.0}  # fmt: skip
    train_line(StepEvent(**info))
    rerank_line(StepEvent(**{**info, "stage": "rerank", "accuracy": 0.5, "rate": 9.0, "unit": "prompts"}))
    rerank_line(StepEvent(**{**info, "stage": "rerank-head", "step": 1, "total": 2, "elapsed_s": 3.0,
                             "eta_s": 3.0}))  # fmt: skip
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("elapsed 1m02s, ETA 3m06s") and lines[1].endswith("elapsed 1m02s, ETA 3m06s")
    assert lines[2].endswith("elapsed 3s, ETA 3s")
    assert (format_duration(59.6), format_duration(3725)) == ("1m00s", "1h02m")
