"""``python -m cli``: the same command as ``policy-qa``."""

from cli import app

app()
