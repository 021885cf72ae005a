"""Schemathesis against our OpenAPI schema: no operation answers 500, every 4xx is problem+json.

Each operation is called by an account whose role holds the permission the route requires (or
anonymously when it requires none), with data that fits the schema and data that does not.
Requests go through the ``client`` fixture, so they reach the real app and the test database inside
the test's rolled-back transaction. Hypothesis drives generation synchronously, so it runs in a
worker thread and hands each request to the test's event loop.
"""

import asyncio
from collections.abc import Callable

import httpx
import requests
import schemathesis
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from ihospital.core.context import Actor
from ihospital.identity.accounts import create_account
from ihospital.identity.sessions import open_session
from ihospital.security.permissions import GRANTS, Permission, Role
from tests.security.routes import permission_of

TOTAL_EXAMPLES = 500  # shared by all operations, so the run stays bounded as the API grows
MIN_EXAMPLES, MAX_EXAMPLES = 4, 25
FUZZ_ROLES = (Role.PATIENT, Role.PLATFORM_ADMIN, Role.REGULATOR)  # roles without an institution
REQUEST_TIMEOUT = 30
Sender = Callable[[requests.PreparedRequest], httpx.Response]


def _role_for(permission: Permission | None) -> Role | None:
    if permission is None:
        return None
    return next((role for role in FUZZ_ROLES if permission in GRANTS[role]), Role.PATIENT)


def _roles_by_operation(app: FastAPI) -> dict[tuple[str, str], Role | None]:
    found = {}
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute):
            role = _role_for(permission_of(route))
            for method in route.methods:
                found[(method.upper(), route.path_format)] = role
    return found


async def _bearer_tokens(session, clock) -> dict[Role, str]:
    actor = Actor.system(clock)
    tokens = {}
    for number, role in enumerate(FUZZ_ROLES):
        account = await create_account(
            session,
            actor,
            mobile=f"1390000{number:04d}",
            password="fuzzing-pass-1",
            role=role.value,
            display_name=f"Fuzz {role.value}",
            region_code="110000" if role is Role.REGULATOR else None,
        )
        issued = await open_session(session, actor, account=account, kind="api", hours=1)
        tokens[role] = issued.token
    await session.flush()
    return tokens


def _problems_of(response: httpx.Response) -> list[str]:
    where = f"{response.request.method} {response.request.url} -> {response.status_code}"
    if response.status_code >= 500:
        return [f"{where}: {response.text[:300]}"]
    if 400 <= response.status_code < 500:
        content_type = response.headers.get("content-type", "")
        if not content_type.startswith("application/problem+json"):
            return [f"{where}: 4xx with content-type {content_type!r}"]
        body = response.json()
        missing = {"type", "title", "status", "detail", "code"} - set(body)
        if missing or body.get("status") != response.status_code:
            return [f"{where}: problem lacks {sorted(missing)} or has the wrong status: {body}"]
    return []


def _check_operation(operation, headers: dict, examples: int, send: Sender) -> None:
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def check(case) -> None:
        kwargs = case.as_transport_kwargs(base_url="https://testserver", headers=headers)
        problems = _problems_of(send(requests.Request(**kwargs).prepare()))
        if problems:
            raise AssertionError("\n".join(problems))

    check()


def _fuzz(schema, roles: dict, tokens: dict[Role, str], send: Sender) -> list[str]:
    operations = [result.ok() for result in schema.get_all_operations()]
    examples = max(MIN_EXAMPLES, min(MAX_EXAMPLES, TOTAL_EXAMPLES // max(len(operations), 1)))
    failures: list[str] = []
    for operation in operations:
        role = roles.get((operation.method.upper(), operation.path))
        headers = {"Authorization": f"Bearer {tokens[role]}"} if role else {}
        try:
            _check_operation(operation, headers, examples, send)
        except AssertionError as failure:
            failures.append(f"{operation.method.upper()} {operation.path}: {failure}")
    return failures


async def test_no_operation_answers_500_and_every_4xx_is_a_problem(app, client, session, clock):
    tokens = await _bearer_tokens(session, clock)
    schema = schemathesis.openapi.from_dict(app.openapi())
    loop = asyncio.get_running_loop()

    def send(prepared: requests.PreparedRequest) -> httpx.Response:
        request = client.request(
            prepared.method or "GET",
            prepared.url or "/",
            headers=dict(prepared.headers),
            content=prepared.body,
        )
        return asyncio.run_coroutine_threadsafe(request, loop).result(REQUEST_TIMEOUT)

    failures = await asyncio.to_thread(_fuzz, schema, _roles_by_operation(app), tokens, send)
    assert not failures, "\n\n".join(failures)
