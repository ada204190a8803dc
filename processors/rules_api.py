"""HTTP API and page of the worker for rule sets.

Every API call needs `Authorization: Bearer TOKEN` with a token from
WORKSTREAM_API_TOKENS (see processors/api_tokens.py). Without any token
configured, reads and validation are open and applying is rejected. Errors
are JSON objects with an `error` message; an invalid rule set also gets
`problems`, one per invalid place, naming the rule and field.
"""

from __future__ import annotations

import asyncio
import logging
from importlib import resources

import yaml
from aiohttp.web import HTTPRequestEntityTooLarge
from faust.web import View

from processors import rule_log
from processors.api_tokens import TOKENS_VARIABLE, Principal, Role, TokenTable
from processors.app import Runtime
from processors.domain.curves import scheme_curves
from processors.domain.rule_diff import diff_rule_sets, format_changes
from processors.domain.rule_versions import VersionNotNew
from processors.domain.rulesets import RuleSetError, rules_from_document
from schemas.rule_events import MAX_COMMENT_CHARS, RuleSetApplied
from schemas.rules import RuleSet

__all__ = ["register"]

log = logging.getLogger(__name__)

APPLY_TIMEOUT_SECONDS = 30.0


class ApiError(Exception):
    """An error response: HTTP status, message and extra JSON fields."""

    def __init__(self, status: int, message: str, **extra) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


def summary(record: RuleSetApplied, active: int | None) -> dict:
    rules = record.rule_set
    return {
        "version": record.version,
        "name": rules.name,
        "applied_by": record.applied_by,
        "applied_at": record.applied_at.isoformat(),
        "comment": record.comment,
        "rules": len(rules.rules),
        "schemes": len(rules.schemes),
        "active": record.version == active,
    }


def detail(record: RuleSetApplied, active: int | None) -> dict:
    return {
        **summary(record, active),
        "rule_set": record.rule_set.model_dump(mode="json"),
    }


def register(runtime: Runtime) -> None:
    app = runtime.app
    feed = runtime.rule_sets
    tokens = TokenTable.from_env()
    apply_lock = asyncio.Lock()
    if not tokens.configured:
        log.warning(
            "%s is not set: the rules API is open for reading and rejects "
            "requests to apply rule sets",
            TOKENS_VARIABLE,
        )

    def authorize(request, role: Role) -> Principal:
        header = request.headers.get("Authorization", "")
        if not tokens.configured:
            if role == "apply":
                raise ApiError(
                    403,
                    "applying rule sets over HTTP is disabled because no API "
                    f"tokens are configured; set {TOKENS_VARIABLE}=NAME:apply:TOKEN "
                    "(comma-separated entries, tokens of 16 characters or more) "
                    "and restart the worker",
                )
            return Principal("anonymous", "read")
        scheme, _, token = header.partition(" ")
        if not header:
            raise ApiError(
                401,
                "missing bearer token; send 'Authorization: Bearer TOKEN' with a "
                f"token configured in {TOKENS_VARIABLE}",
            )
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "the Authorization header must be 'Bearer TOKEN'")
        principal = tokens.lookup(token.strip())
        if principal is None:
            raise ApiError(401, "invalid bearer token")
        if not principal.may(role):
            raise ApiError(
                403,
                f"the token of {principal.name!r} may only read; applying needs a "
                "token with role 'apply'",
            )
        return principal

    def active_version() -> int | None:
        active = feed.registry.active
        return None if active is None else active.version

    def version_record(text: str) -> RuleSetApplied:
        try:
            version = int(text)
        except ValueError:
            raise ApiError(
                400, f"invalid version {text!r}: expected a whole number"
            ) from None
        record = feed.registry.get(version)
        if record is None:
            known = [r.version for r in feed.registry.history()]
            raise ApiError(
                404, f"rule set version {version} not found; known versions: {known}"
            )
        return record

    async def rule_set_from_body(request) -> RuleSet:
        try:
            body = await request.read()
        except HTTPRequestEntityTooLarge as error:
            raise ApiError(
                413,
                f"the request body is too large ({error.text}); a rule set is "
                "far smaller, so check what is sent",
            ) from error
        if not body.strip():
            raise ApiError(
                400, "the request body is empty; send the rule set as YAML or JSON"
            )
        try:
            document = yaml.safe_load(body.decode("utf-8"))
        except (UnicodeDecodeError, yaml.YAMLError) as error:
            raise ApiError(
                400, f"the request body is not valid YAML or JSON: {error}"
            ) from error
        try:
            return rules_from_document(document, "request body")
        except RuleSetError as error:
            raise ApiError(
                422,
                f"invalid rule set: {len(error.problems) or 1} problem(s)",
                problems=[problem.as_dict() for problem in error.problems]
                or [
                    {
                        "location": "document",
                        "rule": None,
                        "field": None,
                        "message": str(error),
                    }
                ],
            ) from error

    async def apply(request) -> dict:
        principal = authorize(request, "apply")
        comment = request.query.get("comment", "")
        if len(comment) > MAX_COMMENT_CHARS:
            raise ApiError(
                400,
                f"the comment has {len(comment)} characters, at most "
                f"{MAX_COMMENT_CHARS} are allowed",
            )
        rules = await rule_set_from_body(request)
        await feed.wait_ready()
        async with apply_lock:
            try:
                feed.registry.check_new(rules.version)
            except VersionNotNew as error:
                raise ApiError(409, str(error), active_version=error.active) from error
            record = rule_log.new_record(rules, f"{principal.name} (api)", comment)
            offset = await asyncio.get_running_loop().run_in_executor(
                None, rule_log.publish, feed.settings, record, runtime.producer_name
            )
            if not await feed.wait_position(offset + 1, APPLY_TIMEOUT_SECONDS):
                raise ApiError(
                    504,
                    f"rule set version {record.version} was published at offset "
                    f"{offset} but the worker did not read it back within "
                    f"{APPLY_TIMEOUT_SECONDS:.0f} s; check 'workstream rules history'",
                )
        if feed.registry.get(record.version) != record:
            raise ApiError(
                409,
                f"rule set version {record.version} was applied by another writer "
                "at the same time; read the history, raise the version and apply again",
            )
        log.info(
            "rule set version %d applied by %s over HTTP",
            record.version,
            principal.name,
        )
        return summary(record, active_version())

    async def validate(request) -> dict:
        authorize(request, "read")
        rules = await rule_set_from_body(request)
        active = active_version()
        return {
            "valid": True,
            "version": rules.version,
            "name": rules.name,
            "rules": len(rules.rules),
            "schemes": len(rules.schemes),
            "active_version": active,
            "version_is_new": active is None or rules.version > active,
        }

    def diff(request) -> dict:
        authorize(request, "read")
        active = feed.registry.active
        if active is None:
            raise ApiError(404, "no rule set version has been read yet")
        after = version_record(request.query.get("to", str(active.version)))
        if "from" in request.query:
            before = version_record(request.query["from"])
        else:
            before = feed.registry.previous(after.version)
            if before is None:
                raise ApiError(
                    404, f"version {after.version} is the first; pass from=VERSION"
                )
        changes = diff_rule_sets(before.rule_set, after.rule_set)
        return {
            "from": before.version,
            "to": after.version,
            "changes": [change.as_dict() for change in changes],
            "text": format_changes(
                changes, f"version {before.version}", f"version {after.version}"
            ),
        }

    def curves(request) -> dict:
        authorize(request, "read")
        record = (
            version_record(request.query["version"])
            if "version" in request.query
            else feed.registry.active
        )
        if record is None:
            raise ApiError(404, "no rule set version has been read yet")
        return {
            **detail(record, active_version()),
            "curves": [entry.as_dict() for entry in scheme_curves(record.rule_set)],
        }

    def respond(view: View, handler, request, *arguments):
        """Run a handler and turn its result or ApiError into JSON."""
        try:
            return view.json(handler(request, *arguments))
        except ApiError as error:
            return error_response(view, error)

    async def respond_async(view: View, handler, request, status: int = 200):
        try:
            return view.json(await handler(request), status=status)
        except ApiError as error:
            return error_response(view, error)

    def error_response(view: View, error: ApiError):
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        return view.json(
            {"error": error.message, **error.extra},
            status=error.status,
            headers=headers,
        )

    def active_record(request) -> dict:
        authorize(request, "read")
        record = feed.registry.active
        if record is None:
            raise ApiError(404, "no rule set version has been read yet")
        return detail(record, record.version)

    def history(request) -> dict:
        authorize(request, "read")
        active = active_version()
        return {
            "active_version": active,
            "versions": [summary(record, active) for record in feed.registry.history()],
        }

    def one_version(request, version: str) -> dict:
        authorize(request, "read")
        return detail(version_record(version), active_version())

    @app.page("/api/rules")
    class ActiveRules(View):
        async def get(self, request):
            return respond(self, active_record, request)

    @app.page("/api/rules/versions")
    class RuleHistory(View):
        async def get(self, request):
            return respond(self, history, request)

    @app.page("/api/rules/versions/{version}")
    class RuleVersion(View):
        async def get(self, request, version: str):
            return respond(self, one_version, request, version)

    @app.page("/api/rules/diff")
    class RuleDiff(View):
        async def get(self, request):
            return respond(self, diff, request)

    @app.page("/api/rules/curves")
    class RuleCurves(View):
        async def get(self, request):
            return respond(self, curves, request)

    @app.page("/api/rules/validate")
    class ValidateRules(View):
        async def post(self, request):
            return await respond_async(self, validate, request)

    @app.page("/api/rules/apply")
    class ApplyRules(View):
        async def post(self, request):
            return await respond_async(self, apply, request, status=201)

    page = resources.files("processors") / "pages" / "rules.html"

    @app.page("/rules")
    class RulesPage(View):
        async def get(self, request):
            return self.html(page.read_text(encoding="utf-8"))
