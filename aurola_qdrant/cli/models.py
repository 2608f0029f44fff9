"""`aurola-qdrant models`: the model registry."""

from __future__ import annotations

import json

import click

from ..registry import list_models


@click.command()
@click.option("--role", type=click.Choice(["embedder", "reranker"]), default=None, help="Only this role.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def models(role: str | None, as_json: bool) -> None:
    """List the registered AuroLA checkpoints (any local folder or repo id works too)."""
    specs = list_models(role)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "name": s.name,
                        "repo_id": s.repo_id,
                        "role": s.role,
                        "size": s.size,
                        "description": s.description,
                    }
                    for s in specs
                ],
                indent=2,
            )
        )
        return
    width = max(len(s.name) for s in specs)
    for s in specs:
        click.echo(f"{s.name:<{width}}  {s.repo_id:<30}  {s.role:<8}  {s.description}")
