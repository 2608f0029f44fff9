"""The offline quickstart: the one package that composes both edges (`trainer` and `ingest`) with the
library, end to end on CPU. `aurola-qdrant quickstart` is its command (`aurola_quickstart.cli`).

Modules: `stages` (sizes, resumable stages, the training and evaluation stages), `archive` (ingest of the
test archive and the demo searches), `cli` (the command and its report).
"""
