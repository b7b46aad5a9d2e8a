"""The matching core: LSH band index, similarity, union-find clusters, the matcher."""
