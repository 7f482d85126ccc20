"""Direct completion: an object whose selection only reads attributes, completed by one
generated function.

Most objects of a nested page are plain data: `Skill { name }`, an edge's `proficiency` and
`node`, an effective setting's `value { name }` and `source`. The planned executor completes
each such object by looping over its plan, a few calls per field. For a selection whose every
field is an attribute (no resolver, no arguments, no permission) of a leaf, an object of such
a selection, or a list of them, the executor describes it here (`Field`s) and gets back a
function that builds the object's result in straight-line code: `{"name": src.name, ...}`,
with the checks graphql-core would make written in.

The generated function is only ever a fast path. Whatever it does not expect (a value of
another type, null in a non-null field, a leaf that does not serialize, a read guard that
refuses, an exception) makes it raise, and the executor then completes that object the
ordinary way, which reports the error at its path exactly as graphql-core does. Reading a
dataclass attribute twice is harmless, so nothing is done twice that shows.

The generated text holds only fixed templates, numbered names and, as string literals, the
schema's response keys (GraphQL names, checked) and Python attribute names (identifiers,
checked); the values it uses (types, guards, serializers, inner functions) are handed in as
its globals. Compiled code is kept by text, so a request builds only a function object per
selection."""

from __future__ import annotations

import functools
import keyword
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql.pyutils import Undefined

Direct = Callable[[Any], dict[str, Any]]  # source object -> its completed result
NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*\Z")
MAX_INT, MIN_INT = 2**31 - 1, -(2**31)  # the specification's Int: 32-bit signed


class NotDirect(Exception):  # a signal, not an error: the ordinary way follows
    """The value is not what the fast path expects."""


@dataclass(frozen=True)
class Leaf:
    """A leaf's completion: `serialize` (graphql-core's), and the values that serialize to
    themselves (`verbatim`: str, bool; int within Int's range) or to a known name (`names`,
    an enum's members)."""

    serialize: Callable[[Any], Any]
    verbatim: type | None = None
    names: dict[Any, str] | None = None


@dataclass(frozen=True)
class Field:
    """One response key. Exactly one of `typename` (the constant `__typename`), `leaf`,
    `inner` (an object, completed by its own direct function) applies. `listed`: a list of
    non-null items of that kind."""

    key: str
    attribute: str = ""
    nullable: bool = False
    listed: bool = False
    list_nullable: bool = False
    typename: str | None = None
    leaf: Leaf | None = None
    inner: Direct | None = None


def usable(key: str, attribute: str) -> bool:
    """Whether the names can be written into the generated text."""
    return NAME.match(key) is not None and (
        attribute == "" or (attribute.isidentifier() and not keyword.iskeyword(attribute))
    )


def build(kinds: type | set[type], guard: Callable[[Any], None] | None, fields: list[Field]) -> Direct:
    """The direct function for objects read by `fields`: of the Python class `kinds`
    (exactly), or of a class in the set `kinds` (as it is when the function runs: a set the
    caller fills as it finds classes whose values are never awaitable). `guard`, when given,
    is called with each object first."""
    test = "type(src) is not kinds" if isinstance(kinds, type) else "type(src) not in kinds"
    lines = ["def complete(src):", f"    if {test}: raise NotDirect"]
    values: dict[str, Any] = {"kinds": kinds, "guard": guard, "NotDirect": NotDirect}
    if guard is not None:
        lines.append("    guard(src)")
    keys = []
    for n, field in enumerate(fields):
        v = f"v{n}"
        keys.append(f"{field.key!r}: {v}")
        if field.typename is not None:
            lines.append(f"    {v} = {field.typename!r}")
            continue
        lines.append(f"    {v} = src.{field.attribute}")
        if field.listed:
            item = f"x{n}"
            indent = "        " if field.list_nullable else "    "
            if field.list_nullable:
                lines.append(f"    if {v} is not None:")
            lines.append(f"{indent}if type({v}) is not list: raise NotDirect")
            lines += _map(v, item, _convert(values, n, field, item, ""), indent)
        else:
            lines += _convert(values, n, field, v, "    ")
    lines.append(f"    return {{{', '.join(keys)}}}")
    namespace = dict(values)
    exec(_compiled("\n".join(lines)), namespace)  # text from fixed templates only (see above)
    return namespace["complete"]


def _map(v: str, item: str, convert: list[str], indent: str) -> list[str]:
    """`v`, a list, as a new list of its items converted by the lines `convert` (which convert
    `item` in place)."""
    if len(convert) == 1 and convert[0].startswith(f"{item} = "):
        return [f"{indent}{v} = [{convert[0][len(item) + 3 :]} for {item} in {v}]"]
    return [
        f"{indent}{v}_ = []",
        f"{indent}for {item} in {v}:",
        *[f"{indent}    {line}" for line in convert],
        f"{indent}    {v}_.append({item})",
        f"{indent}{v} = {v}_",
    ]


def _convert(values: dict[str, Any], n: int, field: Field, v: str, indent: str) -> list[str]:
    """Lines that turn `v` into its completed value, or raise NotDirect; for a list's item,
    `v` is the item and null is refused (the items are non-null)."""
    nullable = field.nullable and not field.listed
    if field.inner is not None:
        values[f"inner{n}"] = field.inner
        if nullable:
            return [f"{indent}if {v} is not None: {v} = inner{n}({v})"]
        return [f"{indent}{v} = inner{n}({v})"]  # null is not of the inner's class
    leaf = field.leaf
    assert leaf is not None
    values |= {f"serialize{n}": leaf.serialize, "Undefined": Undefined}
    # what graphql-core's complete_leaf_value does, for any value
    slow = [
        f"if {v} is None or isinstance({v}, BaseException): raise NotDirect",
        f"{v} = serialize{n}({v})",
        f"if {v} is None or {v} is Undefined: raise NotDirect",
    ]
    # and, for the common values, what it would give, without the call
    fast: tuple[str, str] | None = None
    if leaf.verbatim is int:
        fast = (f"type({v}) is int and {MIN_INT} <= {v} <= {MAX_INT}", "")
    elif leaf.verbatim is not None:
        values[f"verbatim{n}"] = leaf.verbatim
        # an enum member serializes to its name; a str or a bool to itself
        fast = (f"type({v}) is verbatim{n}", f"{v} = names{n}[{v}]" if leaf.names is not None else "")
        if leaf.names is not None:
            values[f"names{n}"] = leaf.names
    lines = []
    if nullable:
        lines.append(f"if {v} is None: pass")
    if fast is not None:
        test, value = fast
        lines.append(f"{'elif' if nullable else 'if'} {test}: {value or 'pass'}")
    if lines:
        lines.append("else:")
        slow = [f"    {line}" for line in slow]
    return [f"{indent}{line}" for line in lines + slow]


@functools.lru_cache(maxsize=1024)
def _compiled(text: str) -> Any:
    return compile(text, "<ccgraph direct completion>", "exec")
