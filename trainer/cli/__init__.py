"""The trainer's commands, mounted by the `aurola-qdrant` group by module path (lazily):

    train, synth            `trainer.cli.train`      (also ``python -m trainer.train``)
    train-reranker          `trainer.cli.rerank`     (also ``python -m trainer.rerank_train``)
    eval, build-tag-vocab   `trainer.cli.evaluate`

Options of the training commands are derived from the config dataclasses' knobs (`trainer.cli.options`);
progress is printed from typed events (`trainer.cli.progress`). Importing these modules stays light (no
torch): the heavy modules load inside the commands.
"""
