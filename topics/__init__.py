"""Topic catalog, broker connection settings, serialization and the embedded broker."""
