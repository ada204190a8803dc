"""Simulated employees and their behaviour, derived from replayed source traffic."""
