"""The typed codes: every error code, audit action and import action the code can produce is a
value of its GraphQL enum. The values are collected from the source (its syntax tree and the
tables the f-strings read), not from a hand list, so a new `UserError(["x"], "NEW_CODE", "...")`
or a new audited verb fails here until the enum names it."""

from __future__ import annotations

import ast
import importlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from ccgraph.db import models as m
from ccgraph.schema.bulk import ImportAction
from ccgraph.services.audit import AuditAction, AuditTargetType
from ccgraph.services.catalog import writes as catalog_writes
from ccgraph.services.errors import ErrorCode
from tests import factories as f

Scope = tuple[ast.FunctionDef | ast.AsyncFunctionDef, ...]
SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGES = ("ccgraph/services", "ccgraph/resolvers", "ccgraph/schema")


@dataclass
class Source:
    """The scanned modules' syntax trees, with what a value can be traced through."""

    modules: dict[str, ast.Module] = field(default_factory=dict)  # dotted name -> tree

    @classmethod
    def of(cls, files: dict[str, str]) -> Source:
        return cls({name: ast.parse(text) for name, text in files.items()})

    def nodes(self) -> Iterator[tuple[str, ast.AST, Scope]]:
        """Every node with its module and the functions around it, innermost last."""
        return iter(self._nodes)

    @cached_property
    def _nodes(self) -> list[tuple[str, ast.AST, Scope]]:
        def walk(node: ast.AST, scope: Scope) -> Iterator[tuple[ast.AST, Scope]]:
            for child in ast.iter_child_nodes(node):
                inner = (
                    (*scope, child) if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else scope
                )
                yield child, inner
                yield from walk(child, inner)

        return [(name, node, scope) for name, tree in self.modules.items() for node, scope in walk(tree, ())]

    def takers(self, parameter: str) -> dict[str, int | None]:
        """Callables with a `parameter`, by name: its position among the positional arguments a
        caller passes (dataclass fields and `__init__` count for the class)."""
        found: dict[str, int | None] = {}
        for _, node, _ in self.nodes():
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names = [a.arg for a in node.args.posonlyargs + node.args.args]
                names = names[1:] if names[:1] in (["self"], ["cls"]) else names
                kwonly = [a.arg for a in node.args.kwonlyargs]
                if parameter in names or parameter in kwonly:
                    found[node.name] = names.index(parameter) if parameter in names else None
            elif isinstance(node, ast.ClassDef):
                fields = [
                    s.target.id
                    for s in node.body
                    if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
                ]
                if parameter in fields:
                    found[node.name] = fields.index(parameter)
                for s in node.body:
                    if isinstance(s, ast.FunctionDef) and s.name == "__init__":
                        names = [a.arg for a in s.args.args][1:]
                        if parameter in names:
                            found[node.name] = names.index(parameter)
        return found

    @cached_property
    def calls(self) -> dict[str, list[tuple[str, ast.Call, Scope]]]:
        """Every call by the name called (an import's alias read as the name it stands for)."""
        aliases = {
            a.asname: a.name
            for _, node, _ in self.nodes()
            if isinstance(node, ast.ImportFrom)
            for a in node.names
            if a.asname
        }
        found: dict[str, list[tuple[str, ast.Call, Scope]]] = {}
        for module, node, scope in self.nodes():
            if isinstance(node, ast.Call):
                callee = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
                callee = aliases.get(callee or "", callee)
                if callee is not None:
                    found.setdefault(callee, []).append((module, node, scope))
        return found

    @cached_property
    def constants(self) -> dict[str, str]:
        """Module-level `NAME = "text"` of every module, by name."""
        return {
            t.id: s.value.value
            for tree in self.modules.values()
            for s in tree.body
            if isinstance(s, ast.Assign)
            and isinstance(s.value, ast.Constant)
            and isinstance(s.value.value, str)
            for t in s.targets
            if isinstance(t, ast.Name)
        }

    def calls_to(self, names: dict[str, int | None], parameter: str) -> Iterator[tuple[str, ast.expr, Scope]]:
        """(module, the argument bound to `parameter`, the function around the call) for every
        call of one of `names`."""
        for callee, index in names.items():
            for module, node, scope in self.calls.get(callee, ()):
                if index is not None and len(node.args) > index:
                    yield module, node.args[index], scope
                for k in node.keywords:
                    if k.arg == parameter:
                        yield module, k.value, scope

    def values(self, expr: ast.expr, module: str, scope: Scope, seen: frozenset = frozenset()) -> set[str]:
        """The strings an expression can be: literals, names of constants, conditionals,
        f-strings over the module's tables, and a parameter's values at every call."""
        match expr:
            case ast.Constant(value=str() as text):
                return {text}
            case ast.Constant():
                return set()
            case ast.IfExp(body=body, orelse=orelse) | ast.BoolOp(values=[body, orelse]):
                return self.values(body, module, scope, seen) | self.values(orelse, module, scope, seen)
            case ast.JoinedStr(values=parts):
                options = [
                    {p.value} if isinstance(p, ast.Constant) else self.values(p.value, module, scope, seen)  # type: ignore[attr-defined]
                    for p in parts
                ]
                return {"".join(combo) for combo in itertools.product(*options)}
            case ast.Name(id=name) if any(name in _parameters(fn) for fn in scope):
                return self.parameter(
                    next(fn for fn in reversed(scope) if name in _parameters(fn)), name, seen
                )
            case ast.Name(id=name) | ast.Attribute(attr=name) if name in self.constants:
                return {self.constants[name]}
            case ast.Attribute(attr=name):
                return table_values(module, name)
        return set()

    def parameter(self, func: ast.FunctionDef | ast.AsyncFunctionDef, name: str, seen: frozenset) -> set[str]:
        if (func.name, name) in seen:
            return set()
        seen = seen | {(func.name, name)}
        args = func.args
        positional = args.posonlyargs + args.args
        defaults = dict(
            zip(
                [a.arg for a in positional[len(positional) - len(args.defaults) :]],
                args.defaults,
                strict=True,
            )
        )
        defaults |= {
            a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None
        }
        found = self.values(defaults[name], "", (), seen) if name in defaults else set()
        names = [a.arg for a in positional]
        names = names[1:] if names[:1] == ["self"] else names
        index = names.index(name) if name in names else None
        for module, arg, outer in self.calls_to({func.name: index}, name):
            found |= self.values(arg, module, outer, seen)
        return found


def _parameters(func: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    return {a.arg for a in func.args.posonlyargs + func.args.args + func.args.kwonlyargs}


def table_values(module: str, attribute: str) -> set[str]:
    """`kind.action` in an f-string: the attribute on every table entry of the module (its
    module-level instances of its own classes, e.g. the catalog's `Kind`s)."""
    try:
        loaded = importlib.import_module(module)
    except ModuleNotFoundError:
        return set()
    return {
        getattr(v, attribute)
        for v in vars(loaded).values()
        if type(v).__module__ == module and isinstance(getattr(v, attribute, None), str)
    }


def repository() -> Source:
    files = {}
    for package in PACKAGES:
        for path in sorted((SRC / package).rglob("*.py")):
            dotted = ".".join(path.relative_to(SRC).with_suffix("").parts)
            files[dotted] = path.read_text()
    return Source.of(files)


def error_codes(source: Source) -> set[str]:
    found = {
        code
        for module, arg, scope in source.calls_to(source.takers("code"), "code")
        for code in source.values(arg, module, scope)
    }
    for (
        module,
        node,
        scope,
    ) in source.nodes():  # a file row's problems: errors.append((column, CODE, message))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "append"
            and getattr(node.func.value, "attr", getattr(node.func.value, "id", None)) == "errors"
            and node.args
            and isinstance(node.args[0], ast.Tuple)
            and len(node.args[0].elts) == 3
        ):
            found |= source.values(node.args[0].elts[1], module, scope)
    authority = source.modules.get("ccgraph.services.authority")
    for s in authority.body if authority else []:  # the authority rules' codes, used by name
        if isinstance(s, ast.Assign) and isinstance(s.value, ast.Constant) and str(s.value.value).isupper():
            found.add(s.value.value)
    return found


def audit_actions(source: Source) -> set[str]:
    record = {"record": 2, "record_many": 2}
    return {
        a
        for module, arg, scope in source.calls_to(record, "action")
        for a in source.values(arg, module, scope)
        if "." in a
    }


def import_actions(source: Source) -> set[str]:
    found = set()
    for module, node, scope in source.nodes():
        if module.startswith("ccgraph.services.bulk") and isinstance(node, ast.Assign):
            for target in node.targets:
                pairs = (
                    zip(target.elts, node.value.elts, strict=True)  # type: ignore[attr-defined]
                    if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple)
                    else [(target, node.value)]
                )
                for t, v in pairs:
                    if isinstance(t, ast.Attribute) and t.attr == "action":
                        found |= source.values(v, module, scope)
    return found


def test_every_error_code_the_code_can_return_is_an_error_code_and_every_value_is_used() -> None:
    found = error_codes(repository())
    assert {
        "NOT_FOUND",
        "READ_ONLY",
        "TARGET_OUTRANKS_ACTOR",
        "TOO_MANY_ROWS",
        "TOO_MANY",
        "INVALID_ID",
    } <= found
    assert found - set(ErrorCode) == set(), "add these to ErrorCode (services/errors.py), each described"
    assert set(ErrorCode) - found == set(), "no code returns these: remove them"


def test_the_walk_finds_a_new_code_in_each_way_one_is_written() -> None:
    today = repository()
    added = Source.of(
        {
            "ccgraph.services.x": "from ccgraph.services.errors import UserError as E\n"
            "OOPS = 'CONSTANT_CODE'\n"
            "def fail(path, code, message): ...\n"
            "def check(errors, ok):\n"
            "    errors.append(E(['x'], 'NEW_CODE', 'm'))\n"
            "    fail(['y'], 'A' if ok else 'B', 'm')\n"
            "    raise Problem(code=OOPS)\n"
            "    errors.append(('column', 'ROW_CODE', 'm'))\n"
            "class Problem(ValueError):\n"
            "    def __init__(self, code, message=''): ...\n"
        }
    )
    source = Source({**today.modules, **added.modules})
    assert error_codes(source) - error_codes(today) == {"NEW_CODE", "A", "B", "CONSTANT_CODE", "ROW_CODE"}


def test_every_action_the_services_record_is_an_audit_action_and_every_value_is_recorded() -> None:
    found = audit_actions(repository())
    # through the tables: the catalog's kinds × verbs, the skills' sides × verbs, a parameter's default
    assert {
        "queue.delete",
        "workStream.create",
        "skill.usersSetProficiency",
        "user.create",
        "user.copy",
    } <= found
    assert found - {a.value for a in AuditAction} == set(), "add these to AuditAction (services/audit.py)"
    assert {a.value for a in AuditAction} - found == set(), "nothing records these: remove them"


def test_every_import_action_is_an_import_action() -> None:
    assert import_actions(repository()) == {a.value for a in ImportAction}


def test_every_audited_kind_is_a_target_type_named_as_its_graphql_type() -> None:
    kinds = {v.model.__name__ for v in vars(catalog_writes).values() if isinstance(v, catalog_writes.Kind)}
    assert kinds | {"User", "BusinessUnit", "AccessKey", "Webhook"} == {t.value for t in AuditTargetType}
    assert all(hasattr(m, t.value) for t in AuditTargetType)


async def test_the_audit_trail_speaks_the_schema(admin_api, db) -> None:
    unit = await db.get(m.BusinessUnit, 1)
    boss = await f.user(db, unit, "boss")
    worker = await f.user(db, unit, "worker", city="London")
    await db.commit()
    data = await admin_api.data(
        "mutation($i: UserUpdateInput!) { userUpdate(input: $i) { userErrors { code } } }",
        {
            "i": {
                "id": f.gid("User", worker.id),
                "version": worker.version,
                "managerId": f.gid("User", boss.id),
            }
        },
    )
    assert data["userUpdate"]["userErrors"] == []
    refused = await admin_api.data(
        "mutation($i: UserUpdateInput!) { userUpdate(input: $i) { userErrors { code } } }",
        {"i": {"id": f.gid("User", worker.id), "version": worker.version, "city": "Leeds"}},
    )
    assert refused["userUpdate"]["userErrors"] == [{"code": "CONFLICT"}]  # an ErrorCode, as its name
    trail = await admin_api.data(
        "{ auditEvents(filter: {action: USER_UPDATE}) { edges { node { action targetType "
        "fieldChanges { field before after } } } } }"
    )
    assert [e["node"] for e in trail["auditEvents"]["edges"]] == [
        {
            "action": "USER_UPDATE",
            "targetType": "USER",
            "fieldChanges": [{"field": ["managerId"], "before": None, "after": f.gid("User", boss.id)}],
        }
    ]
