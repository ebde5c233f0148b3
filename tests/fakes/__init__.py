"""Local fake servers speaking the real wire protocols (tests, simulator, benchmarks)."""
