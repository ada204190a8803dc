"""Contracts of Workstream: the event envelope and every message model."""
