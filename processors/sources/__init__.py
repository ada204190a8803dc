"""Capture traffic replayed from the source-system exports shipped in `data/`."""
