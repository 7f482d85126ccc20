"""The house rules, read from the imports (README, "Design"): each package imports only the
layers below it; the business rules and the database know nothing of GraphQL; only
`execution/` reaches into graphql-core's and Strawberry's internals; no module takes another
module's private names."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "src" / "ccgraph"
GRAPHQL_LAYER = ("ccgraph.schema", "ccgraph.resolvers", "ccgraph.execution", "strawberry", "graphql")
INTERNALS = (
    "graphql.execution",
    "graphql.pyutils",
    "strawberry.schema.schema",
    "strawberry.schema.schema_converter",
)


def imports() -> dict[str, set[str]]:
    """Each module (as a path below the package) and the modules it imports."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
        found[str(path.relative_to(PACKAGE))] = names
    return found


def reaches(names: set[str], prefixes: tuple[str, ...]) -> set[str]:
    return {n for n in names if any(n == p or n.startswith(p + ".") for p in prefixes)}


def test_services_and_db_never_import_the_graphql_layer():
    found = {
        module: reaches(names, GRAPHQL_LAYER)
        for module, names in imports().items()
        if module.startswith(("services/", "db/", "auth/"))
    }
    assert {m: n for m, n in found.items() if n} == {}


def test_only_execution_touches_graphql_core_and_strawberry_internals():
    found = {module: reaches(names, INTERNALS) for module, names in imports().items()}
    outside = {m: n for m, n in found.items() if n and not m.startswith("execution/")}
    assert outside == {}
    assert found["execution/planned.py"]  # the check reads real imports: it would see one


# What each layer may not import (README, "Design": the house in one picture).
GRAPHQL = ("ccgraph.schema", "ccgraph.resolvers", "ccgraph.execution")
BELOW = {
    "db/": (*GRAPHQL, "ccgraph.services", "ccgraph.auth", "ccgraph.loaders", "ccgraph.context"),
    "auth/": (*GRAPHQL, "ccgraph.services", "ccgraph.loaders", "ccgraph.context"),
    "services/": (*GRAPHQL, "ccgraph.loaders", "ccgraph.context"),
    "loaders.py": GRAPHQL,
    "context.py": GRAPHQL,
    "execution/": ("ccgraph.schema", "ccgraph.resolvers"),
    "schema/": ("ccgraph.resolvers",),
    # A leaf every layer may count through (services: sign-ins, imports; the app: requests).
    "metrics.py": ("ccgraph",),
    # Live changes: the broker knows the event log, not GraphQL; the WebSocket's context sits
    # where context.py does (resolvers may reach both, as they reach the request's context).
    "live.py": (*GRAPHQL, "strawberry", "graphql", "ccgraph.context", "ccgraph.websocket"),
    "websocket.py": ("ccgraph.schema", "ccgraph.resolvers"),
}
# The one module that assembles the schema from the root fields the domains contribute.
ASSEMBLY = "schema/schema.py"


def test_each_package_imports_only_the_layers_below_it():
    found = {
        module: reaches(names, forbidden)
        for module, names in imports().items()
        for prefix, forbidden in BELOW.items()
        if module.startswith(prefix) and module != ASSEMBLY
    }
    assert {m: n for m, n in found.items() if n} == {}


def test_no_module_imports_another_modules_private_names():
    taken = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ccgraph"):
                taken += [
                    f"{path.relative_to(PACKAGE)}: {node.module}.{a.name}"
                    for a in node.names
                    if a.name.startswith("_")
                ]
    assert taken == []
