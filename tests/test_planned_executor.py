"""The planned executor against graphql-core's own on what the product's data never shows: values
that break the schema's promises. Each document runs through both; data and errors (message,
path, location) must be the same. The rest of the suite compares them on the product's schema
(the `sqlite-reference` backend)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import strawberry

from ccgraph.execution.planned import PlannedExecutor


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Leaf(Named):
    name: str
    size: int | None = None


@strawberry.type
class Plain:
    label: str


@strawberry.type
class Checked:
    label: str

    @classmethod
    def is_type_of(cls, obj: Any, _info: Any) -> bool:
        return isinstance(obj, Checked) and obj.label != "impostor"


@strawberry.input
class Scale:
    factor: int = 2


@strawberry.type
class Box:
    title: str
    count: int | None
    tags: list[str]
    maybe_tags: list[str | None] | None
    leaves: list[Leaf]
    maybe_leaf: Leaf | None
    leaf: Leaf
    named: Named | None
    plain: Plain | None
    checked: Checked | None

    @strawberry.field
    async def later(self) -> Leaf | None:
        await asyncio.sleep(0)
        return self.leaf

    @strawberry.field
    async def broken(self) -> str:
        raise ValueError("broken on purpose")

    # Resolvers the planned executor calls itself (no arguments, no extensions).
    @strawberry.field
    def doubled(self) -> int | None:
        return None if self.count is None else self.count * 2

    @strawberry.field
    def where(self, info: strawberry.Info) -> str:
        return f"{info.field_name} at {info.path.key} of {info.path.prev.key}"

    @strawberry.field
    def failing(self) -> str:
        raise ValueError("failing on purpose")

    @strawberry.field
    def awaited(self) -> Leaf | None:
        async def later() -> Leaf:
            return self.leaf

        return later()

    @strawberry.field
    def parent_title(self, parent: strawberry.Parent[Box]) -> str:
        return parent.title.upper()

    @strawberry.field
    def scaled(self, by: Scale | None = None, offset: int = 0) -> int | None:
        return None if self.count is None else self.count * (by or Scale()).factor + offset


def box(**changes: Any) -> Box:
    values: dict[str, Any] = {
        "title": "box",
        "count": 3,
        "tags": ["a", "b"],
        "maybe_tags": ["x", None],
        "leaves": [Leaf(name="one", size=1), Leaf(name="two")],
        "maybe_leaf": None,
        "leaf": Leaf(name="leaf", size=2),
        "named": Leaf(name="named"),
        "plain": Plain(label="plain"),
        "checked": Checked(label="checked"),
    }
    values.update(changes)
    return Box(**values)


BOXES: dict[str, Box] = {
    "fine": box(),
    "null_title": box(title=None),
    "bad_int": box(count="many"),
    "null_tag": box(tags=["a", None]),
    "not_a_list": box(tags=5),
    "null_in_maybe": box(maybe_tags=[None, "y"]),
    "null_leaf_name": box(leaves=[Leaf(name="one"), Leaf(name=None)]),
    "null_leaf": box(leaf=None),
    "wrong_type": box(plain=Leaf(name="not plain")),
    "impostor": box(checked=Checked(label="impostor")),
    "exception_value": box(count=ValueError("a value that is an error")),
    "bad_doubled": box(count=2**40),
}


@strawberry.type
class Query:
    @strawberry.field
    def box(self, kind: str) -> Box | None:
        return BOXES[kind]

    @strawberry.field
    def boxes(self) -> list[Box | None]:
        return list(BOXES.values())


SCHEMAS = {
    "planned": strawberry.Schema(query=Query, execution_context_class=PlannedExecutor),
    "reference": strawberry.Schema(query=Query),
}

FIELDS = """title count tags maybeTags
  leaves { name size __typename } maybeLeaf { name } leaf { n: name size }
  named { name ... on Leaf { size } } plain { label } checked { label }
  later { name } doubled where awaited { name size } parentTitle """

DOCUMENTS = [
    *(f'{{ box(kind: "{kind}") {{ {FIELDS} }} }}' for kind in BOXES),
    f"{{ boxes {{ {FIELDS} }} }}",
    "{ boxes { title broken } }",
    "{ boxes { title failing } }",
    '{ box(kind: "fine") { title failing } }',
    '{ box(kind: "fine") { scaled(by: {factor: 3}, offset: 1) twice: scaled } }',
    "{ boxes { scaled(offset: 2147483647) } }",
    '{ box(kind: "fine") { ...F again: leaf { name } } } fragment F on Box { leaves { name } title }',
]


async def outcome(name: str, document: str) -> tuple[Any, list[Any]]:
    result = await SCHEMAS[name].execute(document)
    return result.data, [error.formatted for error in result.errors or []]


@pytest.mark.parametrize("document", DOCUMENTS)
async def test_both_executors_agree(document: str) -> None:
    planned = await outcome("planned", document)
    reference = await outcome("reference", document)
    assert planned == reference


async def test_the_cases_do_break_promises() -> None:
    """The comparison above means something only if these documents do produce errors."""
    data, errors = await outcome("planned", f'{{ box(kind: "null_leaf_name") {{ {FIELDS} }} }}')
    assert data == {"box": None}
    assert errors[0]["path"] == ["box", "leaves", 1, "name"]
    assert errors[0]["message"] == "Cannot return null for non-nullable field Leaf.name."
    data, errors = await outcome("planned", f'{{ box(kind: "null_in_maybe") {{ {FIELDS} }} }}')
    assert data["box"]["maybeTags"] == [None, "y"] and errors == []
    _, errors = await outcome("planned", f"{{ boxes {{ {FIELDS} }} }}")
    assert len(errors) >= 8
