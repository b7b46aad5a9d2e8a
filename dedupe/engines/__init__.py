"""Engines that run the rules over a corpus: the Ray job (the streaming run is in the CLI for now)."""
