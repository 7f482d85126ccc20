"""The planned executor against graphql-core's own on what the product's data never shows: values
that break the schema's promises. Each document runs through both; data and errors (message,
path, location) must be the same. The rest of the suite compares them on the product's schema
(the `sqlite-reference` backend).

`Box` is read through resolvers and the plan's loop; `Shelf` only through attributes, which the
planned executor completes directly (ccgraph.execution.direct): every way a value can be wrong
there must come out as it does from graphql-core."""

from __future__ import annotations

import asyncio
from enum import Enum
from typing import Any

import pytest
import strawberry

from ccgraph.execution import direct
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


@strawberry.enum
class Colour(Enum):
    RED = "red"
    DEEP_BLUE = "blue"


class Stamp:
    """Not a builtin: graphql-core's String serializes it with str()."""

    def __str__(self) -> str:
        return "stamped"


class Refusal(Exception):
    """An error of a module of ours, which graphql-core's String would serialize with str()
    had the executor not raised it first."""


@strawberry.type
class Shelf:
    label: str
    colour: Colour
    maybe_colour: Colour | None
    width: int
    ratio: float | None
    tags: list[str]
    leaves: list[Leaf]
    maybe_leaves: list[Leaf] | None
    plain: Plain
    maybe_plain: Plain | None


def shelf(**changes: Any) -> Shelf:
    values: dict[str, Any] = {
        "label": "shelf",
        "colour": Colour.DEEP_BLUE,
        "maybe_colour": None,
        "width": 7,
        "ratio": 0.5,
        "tags": ["a", "b"],
        "leaves": [Leaf(name="one", size=1), Leaf(name="two")],
        "maybe_leaves": None,
        "plain": Plain(label="plain"),
        "maybe_plain": None,
    }
    values.update(changes)
    return Shelf(**values)


SHELVES: dict[str, Shelf] = {
    "fine": shelf(maybe_colour=Colour.RED, maybe_leaves=[Leaf(name="x")], maybe_plain=Plain(label="p")),
    "null_label": shelf(label=None),
    "int_label": shelf(label=12),
    "stamp_label": shelf(label=Stamp()),
    "error_label": shelf(label=ValueError("a value that is an error")),
    "refusal_label": shelf(label=Refusal("an error of ours")),
    "colour_as_text": shelf(colour="blue"),
    "colour_as_name": shelf(colour="DEEP_BLUE"),
    "unknown_colour": shelf(maybe_colour="GREEN"),
    "huge_width": shelf(width=2**40),
    "text_width": shelf(width="7"),
    "bool_width": shelf(width=True),
    "bad_ratio": shelf(ratio="wide"),
    "int_tags": shelf(tags=[1, 2]),
    "null_tag": shelf(tags=["a", None]),
    "tuple_tags": shelf(tags=("a", "b")),
    "null_leaf": shelf(leaves=[Leaf(name="one"), None]),
    "plain_in_leaves": shelf(leaves=[Plain(label="not a leaf")]),
    "null_leaf_name": shelf(leaves=[Leaf(name=None)]),
    "leaves_not_a_list": shelf(maybe_leaves=5),
    "leaves_as_tuple": shelf(maybe_leaves=(Leaf(name="t"),)),
    "null_plain": shelf(plain=None),
    "leaf_as_plain": shelf(plain=Leaf(name="no label")),
    "checked_as_plain": shelf(maybe_plain=Checked(label="has a label")),
}

SHELF_FIELDS = """label colour maybeColour width ratio tags leaves { name size __typename }
  maybeLeaves { n: name } plain { label } maybePlain { label __typename } kind: __typename"""


@strawberry.type
class Query:
    @strawberry.field
    def box(self, kind: str) -> Box | None:
        return BOXES[kind]

    @strawberry.field
    def shelf(self, kind: str) -> Shelf | None:
        return SHELVES[kind]

    @strawberry.field
    def shelves(self) -> list[Shelf]:
        return list(SHELVES.values())

    @strawberry.field
    def fine_shelves(self) -> list[Shelf]:
        return [SHELVES["fine"], shelf(label="second")]

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
    # (a fine shelf first, so that the executor knows the classes: see the last test)
    *(
        f'{{ fineShelves {{ {SHELF_FIELDS} }} shelf(kind: "{kind}") {{ {SHELF_FIELDS} }} }}'
        for kind in SHELVES
    ),
    f"{{ shelves {{ {SHELF_FIELDS} }} }}",
    f"{{ fineShelves {{ {SHELF_FIELDS} }} }}",
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


async def test_shelves_are_completed_directly(monkeypatch: Any) -> None:
    """The `Shelf` documents above compare the direct completion, not the loop: it is taken
    for plain shelves (and every object in them), and falls back for each broken one."""
    completed: list[str] = []
    build = direct.build

    def counting(kinds: Any, guard: Any, fields: list[direct.Field]) -> direct.Direct:
        made = build(kinds, guard, fields)

        def complete(source: Any) -> dict[str, Any]:
            result = made(source)
            completed.append(type(source).__name__)
            return result

        return complete

    monkeypatch.setattr(direct, "build", counting)
    data, errors = await outcome("planned", f"{{ fineShelves {{ {SHELF_FIELDS} }} }}")
    assert errors == [] and len(data["fineShelves"]) == 2
    assert data["fineShelves"][0]["colour"] == "DEEP_BLUE" and data["fineShelves"][0]["kind"] == "Shelf"
    # each shelf, its three leaves, plain and maybe plain (the first shelf's classes are
    # learnt on the way, so that one is completed by the loop, its leaves directly)
    assert completed.count("Shelf") == 1 and completed.count("Leaf") >= 5
    for kind in ("fine", "null_label"):
        completed.clear()
        document = f'{{ fineShelves {{ {SHELF_FIELDS} }} shelf(kind: "{kind}") {{ {SHELF_FIELDS} }} }}'
        data, errors = await outcome("planned", document)
        assert completed.count("Shelf") == (2 if kind == "fine" else 1)
        assert (data["shelf"] is None) == (errors != []) == (kind == "null_label")
