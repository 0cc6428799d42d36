"""The deployment behind nginx: the configuration template and its renderer (importable by the tests and benchmarks)."""
