"""`python -m dedupe` runs the command line."""

from .cli.app import main

main()
