"""Stream processors of Workstream and the pure domain logic they run."""
