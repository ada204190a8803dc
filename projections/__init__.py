"""Read models fed by the log: live summaries, item histories, reports."""
