"""Evaluation metrics: pure functions of arrays (or vectors + a benchmark) returning plain dicts with coverage."""
