"""From text to features: normalization, shingles, MinHash signatures."""
