"""Reading records (JSONL, gzip, zstd, Parquet) and writing outputs (stdout, side files, shards)."""
