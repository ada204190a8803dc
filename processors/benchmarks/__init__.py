"""Benchmarks that print figures; they never assert a speed."""
