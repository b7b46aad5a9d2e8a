"""The command line: typer app, options, exit codes, printing."""

from .app import app, main

__all__ = ["app", "main"]
