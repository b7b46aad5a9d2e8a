"""Engines that run a RunSpec over a corpus: the streaming run in this process, and the same run as a Ray job."""
