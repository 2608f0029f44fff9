"""The `aurola-qdrant` command line: the one place that composes the library, `ingest` and `trainer`.

Subcommands are imported on first use, so `aurola-qdrant --help` stays fast and a command's heavy
dependencies (torch, peft, …) load only when it runs.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from typing import Any

import click

from ._errors import CommandError, fail, set_verbosity

__all__ = ["main"]

# command name -> "module:attribute" of a click.Command
COMMANDS = {
    "models": "aurola_qdrant.cli.models:models",
    "embed": "aurola_qdrant.cli.embed:embed",
    "ingest": "ingest.cli:ingest",
    "enrich": "ingest.enrich_cli:enrich",
    "collection": "aurola_qdrant.cli.collection:collection",
    "ingest-text": "aurola_qdrant.cli.search:ingest_text",
    "search": "aurola_qdrant.cli.search:search",
    "describe": "aurola_qdrant.cli.search:describe",
    "train": "trainer.cli.train:train",
    "eval": "trainer.cli.evaluate:evaluate",
    "train-reranker": "trainer.cli.rerank:train_reranker",
    "build-tag-vocab": "trainer.cli.tag_vocab:build_tag_vocab",
    "synth": "trainer.cli.train:synth",
    "quickstart": "aurola_quickstart.cli:quickstart",
    "serve": "aurola_qdrant.serve.cli:serve",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in COMMANDS if self._available(name))

    @staticmethod
    def _available(name: str) -> bool:
        module = COMMANDS[name].split(":")[0]
        return importlib.util.find_spec(module) is not None

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None or not self._available(cmd_name):
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr, None)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; anything it lets out becomes one ``error: ...`` line (traceback with -v)."""
        try:
            return super().invoke(ctx)
        except click.UsageError:
            raise
        except click.ClickException as exc:  # printed as "error: ..." like every other failure
            if isinstance(exc, CommandError):
                raise
            raise CommandError(exc.format_message(), exc.exit_code) from exc
        except (click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            raise click.Abort() from None
        except Exception as exc:
            fail(exc, ctx)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.version_option(package_name="aurola-qdrant")
@click.pass_context
def main(ctx: click.Context, verbose: int) -> None:
    """Semantic audio search for Qdrant with AuroLA embeddings and re-ranking."""
    set_verbosity(ctx, verbose)
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if verbose < 2:
        for noisy in ("httpx", "transformers", "urllib3"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
