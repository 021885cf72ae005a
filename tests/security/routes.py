"""The app's routes as the security tests see them: each (method, path) and the permission its
``require(...)`` or ``socket_require(...)`` names (read from the ``permission`` attribute the
dependency carries). WebSocket routes have the method ``WS``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIWebSocketRoute, iter_route_contexts

from ihospital.security.permissions import Permission


def permission_of(route: Any) -> Permission | None:
    """The permission named by the ``require(...)`` among the route's dependencies, if any."""
    pending = [route.dependant] if hasattr(route, "dependant") else []
    while pending:
        dependant = pending.pop()
        permission = getattr(dependant.call, "permission", None)
        if permission is not None:
            return permission
        pending.extend(dependant.dependencies)
    return None


def served_routes(app: FastAPI) -> Iterator[tuple[tuple[str, str], Any]]:
    """Every (method, path) the app answers, with its route (HEAD goes with GET)."""
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIWebSocketRoute):
            yield ("WS", route.path_format), route
            continue
        for method in sorted(route.methods or {"GET"}):
            if method != "HEAD":
                yield (method, route.path_format), route
