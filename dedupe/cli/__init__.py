"""The command line: typer app, options, exit codes, printing."""

from . import blas  # first: before anything imports numpy
from .app import app, main

__all__ = ["app", "blas", "main"]
