"""The read path of a page, resolved in one step. When a connection of users is resolved, what
the query selects under its nodes is loaded for the whole page at once (one statement per
relation, as the loaders always do); the nested resolvers then find their values already in
the loaders and answer synchronously, which graphql-core completes far faster than awaiting.
A resolver whose value is not there (a user fetched alone, say) loads it as before: the
answer is the same either way, only the cost differs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any

from strawberry.dataloader import DataLoader
from strawberry.types import Info
from strawberry.types.nodes import SelectedField

from ccgraph.schema.relay import page_args

MISSING = object()


def peek(loader: DataLoader[Any, Any], key: Any) -> Any:
    """The loader's value for `key` if it has it already, else MISSING."""
    if not loader.cache:
        return MISSING
    future = loader.cache_map.get(key)
    if future is None or not future.done() or future.cancelled() or future.exception() is not None:
        return MISSING
    return future.result()


async def _then(awaitable: Awaitable[Any], convert: Callable[[Any], Any]) -> Any:
    return convert(await awaitable)


def one(loader: DataLoader[Any, Any], key: Any, convert: Callable[[Any], Any]) -> Any:
    """`convert(row)` for the row under `key` (None stays None): now, or as an awaitable."""
    if key is None:
        return None
    hit = peek(loader, key)
    if hit is not MISSING:
        return convert(hit) if hit is not None else None
    return _then(loader.load(key), lambda row: convert(row) if row is not None else None)


def many(loader: DataLoader[Any, Any], key: Any, convert: Callable[[list[Any]], Any]) -> Any:
    """`convert(rows)` for the list under `key` (none when the key is None)."""
    if key is None:
        return convert([])
    hit = peek(loader, key)
    if hit is not MISSING:
        return convert(hit)
    return _then(loader.load(key), convert)


def _fields(selections: Iterable[Any]) -> Iterator[SelectedField]:
    """The fields of a selection, with those of its fragments (named or inline)."""
    for part in selections:
        if isinstance(part, SelectedField):
            yield part
        else:
            yield from _fields(part.selections)


def _selected(info: Info) -> dict[str, Any]:
    """The fields selected under the connection's `edges { node { ... } }` (or `nodes`)."""
    out: dict[str, Any] = {}
    for field in info.selected_fields:
        for part in _fields(field.selections):
            if part.name == "nodes":
                out.update({s.name: s for s in _fields(part.selections)})
            elif part.name == "edges":
                for sub in _fields(part.selections):
                    if sub.name == "node":
                        out.update({s.name: s for s in _fields(sub.selections)})
    return out


def _asks(field: SelectedField, name: str) -> bool:
    return any(part.name == name for part in _fields(field.selections))


async def _fill(loader: DataLoader[Any, Any], keys: list[Any]) -> None:
    """What `load_many` would do for keys all wanted at once: one call of the batch function,
    its values put in the cache (without a future and a callback per key to gather)."""
    loader.prime_many(dict(zip(keys, await loader.load_fn(keys), strict=True)))


async def prefetch_users(info: Info, rows: Iterable[Any]) -> None:
    """Load what the page's users will be asked for, for all of them at once."""
    rows = list(rows)
    if not rows or not info.context.settings.dataloaders:
        return
    selected = _selected(info)
    loaders = info.context.loaders
    ids = [r.id for r in rows]
    profiles = {r.user_profile_id for r in rows if r.user_profile_id is not None}
    effective = "effectiveSettings" in selected
    wanted: list[Awaitable[Any]] = []

    def want(loader: DataLoader[Any, Any], keys: Iterable[Any]) -> None:
        keys = [k for k in dict.fromkeys(keys) if k is not None and peek(loader, k) is MISSING]
        if keys:
            wanted.append(_fill(loader, keys))

    if "team" in selected:
        want(loaders.team, (r.team_id for r in rows))
    if "manager" in selected:
        want(loaders.user, (r.manager_id for r in rows))
    if "userProfile" in selected or effective:
        want(loaders.user_profile, profiles)
    if "defaultPresence" in selected or effective:
        want(loaders.presence_status, (r.default_presence_id for r in rows))
    if "queues" in selected or effective:
        want(loaders.user_queues, ids)
    if "workStreams" in selected or effective:
        want(loaders.user_work_streams, ids)
    if "securityProfiles" in selected or "permissions" in selected:
        want(loaders.user_security_profiles, ids)
    if effective and _asks(selected["effectiveSettings"], "skills"):
        want(loaders.user_skill_list, ids)
    if effective:
        want(loaders.profile_queues, profiles)
        want(loaders.profile_work_streams, profiles)
    if selected.keys() & {
        "businessUnit",
        "customFields",
        "channelSettings",
        "omnichannel",
        "wfoRecording",
        "wfmNotifications",
        "maxReleasePreview",
        "crmUsername",
    }:
        want(loaders.business_unit, (r.business_unit_id for r in rows))
    skills = selected.get("skills")
    if skills is not None:
        args = skills.arguments

        def number(name: str) -> int | None:
            value = args.get(name)
            return int(value) if isinstance(value, (int, str)) and str(value).lstrip("-").isdigit() else None

        key_args = page_args(number("first"), args.get("after"), number("last"), args.get("before"))
        order = args.get("orderBy")
        order_key = f"{order['field']}:{order.get('direction', 'ASC')}" if order else "NAME:ASC"
        want(loaders.user_skills, ((i, key_args, args.get("search"), order_key) for i in ids))
    await asyncio.gather(*wanted)
    if effective and profiles:  # the profiles' default presences, now that the profiles are in
        found = [peek(loaders.user_profile, p) for p in profiles]
        keys = [p.default_presence_id for p in found if p is not MISSING and p is not None]
        wanted.clear()
        want(loaders.presence_status, keys)
        await asyncio.gather(*wanted)
