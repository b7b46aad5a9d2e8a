"""Where documents of earlier runs live: the on-disk index and the Redis index."""
