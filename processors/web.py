"""HTTP views of a worker: one task's current state, read from the tasks table."""

from __future__ import annotations

import logging

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from processors.app import Runtime

__all__ = ["register"]

log = logging.getLogger(__name__)


def register(runtime: Runtime) -> None:
    app = runtime.app
    tasks = app.tables.get("tasks") if hasattr(app.tables, "get") else None

    @app.page("/tasks/{task_id}/")
    async def task_state(web, request, task_id: str):
        table = tasks or app.tables["tasks"]
        stored = table.get(task_id.encode())
        if stored is None:
            return web.json({"error": f"task {task_id!r} not found"}, status=404)
        return web.bytes(stored, content_type="application/json")

    @app.page("/metrics")
    async def metrics(web, request):
        # aiohttp takes a charset only through the header, not content_type.
        headers = {"Content-Type": CONTENT_TYPE_LATEST}
        return web.bytes(generate_latest(), headers=headers)

    @app.page("/health/")
    async def health(web, request):
        feed = runtime.rule_sets
        if feed.error is not None:
            message = f"reading the rules topic failed: {feed.error}"
            return web.json({"status": "failed", "error": message}, status=503)
        if not feed.ready:
            return web.json({"status": "loading rule sets"}, status=503)
        return web.json({"status": "ok", "rule_set_version": runtime.rules.version})
