"""DataLoaders, built per request: every relation is fetched in one statement per level,
whatever the number of rows it is asked for."""

from __future__ import annotations

import asyncio
import functools
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, Table, select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader as StrawberryDataLoader

from ccgraph.db import models as m
from ccgraph.db.base import utcnow
from ccgraph.db.records import MAPPED, columns, fetch_records, key_in
from ccgraph.db.search import Column
from ccgraph.services import webhooks
from ccgraph.services.pagination import (
    Ordering,
    Page,
    PageArgs,
    ParentPages,
    count_by_parent,
    fetch_pages_by_parent,
    pages_by_parent,
)
from ccgraph.services.users import queries as users

NOTHING: frozenset[str] = frozenset()
K = TypeVar("K")
V = TypeVar("V")


class DataLoader(StrawberryDataLoader[K, V]):
    """Strawberry's DataLoader, with the values the page prefetch loaded kept as they are
    (`ready`): a page's relations are read some 2,000 times, and a plain dict is read without
    the future per key that Strawberry's cache holds.

    Its loads are shielded. Many fields await one cached future; when graphql-core cancels one
    of them (a sibling failed into a non-null parent), asyncio would cancel that shared future
    too, and every other field awaiting it would get a CancelledError that no error handling
    catches, failing the whole request."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ready: dict[Any, Any] = {}

    def load(self, key: Any) -> Any:
        if key in self.ready:
            done = self.loop.create_future()
            done.set_result(self.ready[key])
            return done
        return asyncio.shield(super().load(key))

    def clear(self, key: Any) -> None:
        self.ready.pop(key, None)
        super().clear(key)

    def clear_many(self, keys: Iterable[Any]) -> None:
        for key in keys:
            self.clear(key)

    def clear_all(self) -> None:
        self.ready.clear()
        super().clear_all()


Db = Callable[[], AbstractAsyncContextManager[AsyncSession]]
# (parent id, page arguments, search, order name) and (parent id, search)
PageKey = tuple[int, PageArgs, str | None, str]
CountKey = tuple[int, str | None]

# A loader's statement is the same in every request: built once (building one and finding its
# compiled form costs 0.1 ms, a page per parent 0.45 ms), its keys given as bound parameters
# (`key_in`).
# Nothing in them depends on the caller: loaders read by key, and what a caller may see is
# decided above them (services.authority).
# They differ by the columns a request leaves unread (execution.columns), as many as the
# distinct selections clients send: at most STATEMENTS_KEPT of each kind are kept.
STATEMENTS_KEPT = 512
_PAGE_STATEMENTS: dict[
    tuple[str, str, bool, frozenset[str]], ParentPages
] = {}  # (loader, order, backwards, unread)


@functools.lru_cache(maxsize=STATEMENTS_KEPT)
def _by_id_statement(model: Any, unread: frozenset[str]) -> Select[Any]:
    shown = (model,) if model in MAPPED else columns(model, unread)
    return select(*shown).where(key_in(model.id, "ids"))


@functools.lru_cache(maxsize=STATEMENTS_KEPT)
def _linked_statement(
    owner: ColumnElement[int], target: ColumnElement[int], model: Any, unread: frozenset[str]
) -> Select[Any]:
    table: Table = owner.table
    return (
        select(owner.label("link_owner"), *columns(model, unread))
        .join(table, target == model.id)
        .where(key_in(owner, "ids"))
        .order_by(owner, model.name, model.id)
    )


def _loader(build: Callable[[Loaders], DataLoader[Any, Any]]) -> Any:
    """A loader of `Loaders`, built by `build` when the request first asks for it."""
    return functools.cached_property(build)


@dataclass(frozen=True)
class Listed:
    """A list of `entity` paged under parents (`parent`, its column): `query(search)` selects
    it, `orderings` by name, `extras` read with each row. `name`: unique (the statements are
    kept under it)."""

    name: str
    query: Callable[[str | None], Select[Any]]
    entity: Any
    parent: Column
    orderings: dict[str, Ordering]
    extras: Sequence[Column] = ()


def _paged_loaders(listed: Listed) -> tuple[Any, Any]:
    """The loaders of a list's pages under parents (`Loaders._pages`), and of its totals."""
    return _loader(lambda self: self._pages(listed)), _loader(lambda self: self._counts(listed))


def _users_under(
    name: str,
    parent: Column,
    join: tuple[Any, Any] | None = None,
    orderings: dict[str, Ordering] | None = None,
    extras: Sequence[Column] = (),
) -> tuple[Any, Any]:
    """Pages of users under a parent (a manager, a profile, a team, a skill...)."""
    base = select(m.User) if join is None else select(m.User).join(*join)
    return _paged_loaders(
        Listed(
            name,
            lambda search: users.search_users(base, search),
            m.User,
            parent,
            orderings or {users.DEFAULT_ORDER: users.USER_ORDER},
            extras,
        )
    )


class Loaders:
    """A request's loaders, each built when the request first asks for it (a page asks for
    some ten of the thirty)."""

    def __init__(
        self, db: Db, batch: bool = True, unread: Mapping[Any, frozenset[str]] | None = None
    ) -> None:
        """`unread`: per model, the columns its rows are read without (the request's
        operation shows none of them: execution.columns)."""
        self._db = db
        self._unread = unread or {}
        # batch=False is the benchmark's naive baseline: one statement per key.
        self._max_batch = None if batch else 1

    # -- by id
    business_unit = _loader(lambda self: self._by_id(m.BusinessUnit))
    user = _loader(lambda self: self._by_id(m.User))
    team = _loader(lambda self: self._by_id(m.Team))
    user_profile = _loader(lambda self: self._by_id(m.UserProfile))
    presence_status = _loader(lambda self: self._by_id(m.PresenceStatus))
    queue = _loader(lambda self: self._by_id(m.Queue))
    work_stream = _loader(lambda self: self._by_id(m.WorkStream))
    skill = _loader(lambda self: self._by_id(m.Skill))
    security_profile = _loader(lambda self: self._by_id(m.SecurityProfile))
    audit_event = _loader(lambda self: self._by_id(m.AuditEvent))
    webhook = _loader(lambda self: self._by_id(m.Webhook))

    # -- linked through a table
    user_queues = _loader(
        lambda self: self._linked(m.user_queues.c.user_id, m.user_queues.c.queue_id, m.Queue)
    )
    user_work_streams = _loader(
        lambda self: self._linked(
            m.user_work_streams.c.user_id, m.user_work_streams.c.work_stream_id, m.WorkStream
        )
    )
    user_security_profiles = _loader(
        lambda self: self._linked(
            m.user_security_profiles.c.user_id,
            m.user_security_profiles.c.security_profile_id,
            m.SecurityProfile,
        )
    )
    profile_queues = _loader(
        lambda self: self._linked(
            m.user_profile_queues.c.user_profile_id, m.user_profile_queues.c.queue_id, m.Queue
        )
    )
    profile_work_streams = _loader(
        lambda self: self._linked(
            m.user_profile_work_streams.c.user_profile_id,
            m.user_profile_work_streams.c.work_stream_id,
            m.WorkStream,
        )
    )

    # -- pages per parent, and their totals
    user_skills, user_skills_count = _paged_loaders(
        Listed(
            "user_skills",
            users.user_skills_query,
            m.Skill,
            m.UserSkill.user_id,
            users.assignment_orderings(m.Skill.name, m.Skill.id),
            extras=(m.UserSkill.proficiency,),
        )
    )
    skill_users, skill_users_count = _users_under(
        "skill_users",
        m.UserSkill.skill_id,
        join=(m.UserSkill, m.UserSkill.user_id == m.User.id),
        orderings=users.assignment_orderings(m.User.username, m.User.id),
        extras=(m.UserSkill.proficiency,),
    )
    direct_reports, direct_reports_count = _users_under("direct_reports", m.User.manager_id)
    profile_users, profile_users_count = _users_under("profile_users", m.User.user_profile_id)
    team_users, team_users_count = _users_under("team_users", m.User.team_id)
    security_profile_users, security_profile_users_count = _users_under(
        "security_profile_users",
        m.user_security_profiles.c.security_profile_id,
        join=(m.user_security_profiles, m.user_security_profiles.c.user_id == m.User.id),
    )
    webhook_deliveries, webhook_deliveries_count = _paged_loaders(
        Listed(
            "webhook_deliveries",
            lambda _search: select(m.WebhookDelivery),
            m.WebhookDelivery,
            m.WebhookDelivery.webhook_id,
            {"NAME:ASC": webhooks.DELIVERY_LOG},  # the one order (the key a page without orderBy has)
        )
    )

    # -- others
    user_skill_list = _loader(lambda self: self._skill_list())
    user_access_keys = _loader(
        lambda self: self._children(m.AccessKey, m.AccessKey.user_id, m.AccessKey.created_at)
    )
    user_sessions = _loader(
        lambda self: self._children(
            m.Session,
            m.Session.user_id,
            m.Session.created_at,
            m.Session.revoked_at.is_(None),
            m.Session.expires_at > utcnow(),
        )
    )

    def release(self) -> None:
        """Drop every loader and what it cached, once the request is answered. A loader's batch
        function is a closure over this object, so the loaders, their futures and the rows in
        them form cycles that only the garbage collector frees, and a served process collects
        its oldest generation rarely (app.tune_collector): cut here, a page's rows go as soon as
        the request ends."""
        for loader in vars(self).values():
            if isinstance(loader, DataLoader):
                loader.clear_all()
        vars(self).clear()

    def _children(self, model: Any, owner: Any, order: Any, *conditions: Any) -> DataLoader[int, list[Any]]:
        async def load(ids: list[int]) -> list[list[Any]]:
            async with self._db() as session:
                rows = (
                    (
                        await session.execute(
                            select(model).where(owner.in_(ids), *conditions).order_by(owner, order, model.id)
                        )
                    )
                    .scalars()
                    .all()
                )
            grouped: dict[int, list[Any]] = defaultdict(list)
            for row in rows:
                grouped[getattr(row, owner.key)].append(row)
            return [grouped.get(i, []) for i in ids]

        return DataLoader(load_fn=load, max_batch_size=self._max_batch)

    def _skill_list(self) -> DataLoader[int, list[tuple[Any, int]]]:
        """Every skill of a user with its proficiency, unpaged (for effective settings)."""

        async def load(ids: list[int]) -> list[list[tuple[Any, int]]]:
            async with self._db() as session:
                rows = await session.execute(
                    select(m.UserSkill.user_id, m.Skill, m.UserSkill.proficiency)
                    .join(m.Skill, m.Skill.id == m.UserSkill.skill_id)
                    .where(m.UserSkill.user_id.in_(ids))
                    .order_by(m.UserSkill.user_id, m.Skill.id)
                )
            grouped: dict[int, list[tuple[Any, int]]] = defaultdict(list)
            for user_id, skill, proficiency in rows.all():
                grouped[user_id].append((skill, proficiency))
            return [grouped.get(i, []) for i in ids]

        return DataLoader(load_fn=load, max_batch_size=self._max_batch)

    def _by_id(self, model: Any) -> DataLoader[int, Any]:
        statement = _by_id_statement(model, self._unread.get(model, NOTHING))

        async def load(ids: list[int]) -> list[Any]:
            async with self._db() as session:
                if model in MAPPED:
                    rows = (await session.execute(statement, {"ids": ids})).scalars().all()
                else:
                    rows = await fetch_records(session, statement, {"ids": ids})
            found = {row.id: row for row in rows}
            return [found.get(i) for i in ids]

        return DataLoader(load_fn=load, max_batch_size=self._max_batch)

    def _linked(
        self, owner: ColumnElement[int], target: ColumnElement[int], model: Any
    ) -> DataLoader[int, list[Any]]:
        statement = _linked_statement(owner, target, model, self._unread.get(model, NOTHING))

        async def load(ids: list[int]) -> list[list[Any]]:
            async with self._db() as session:
                rows = await fetch_records(session, statement, {"ids": ids})
            grouped: dict[int, list[Any]] = defaultdict(list)
            for row in rows:
                grouped[row.link_owner].append(row)
            return [grouped.get(i, []) for i in ids]

        return DataLoader(load_fn=load, max_batch_size=self._max_batch)

    def _pages(self, listed: Listed) -> DataLoader[PageKey, Page]:
        """Pages of a list under many parents at once, one statement per distinct
        (page arguments, search, order) among the keys."""
        name, query, entity, parent = listed.name, listed.query, listed.entity, listed.parent

        async def pages(keys: list[PageKey]) -> list[Page]:
            by_args: dict[tuple[PageArgs, str | None, str], list[int]] = defaultdict(list)
            for parent_id, args, search, order in keys:
                by_args[(args, search, order)].append(parent_id)
            found: dict[Hashable, Page] = {}
            unread = self._unread.get(entity, NOTHING)
            async with self._db() as session:
                for (args, search, order), parent_ids in by_args.items():
                    ordering = listed.orderings[order]
                    # the statement is kept unless it holds values: a search term, a cursor
                    kept = search is None and args.after is None and args.before is None
                    key = (name, order, args.backwards, unread)
                    statement = _PAGE_STATEMENTS.get(key) if kept else None
                    if statement is None:
                        statement = pages_by_parent(
                            query(search),
                            entity,
                            parent,
                            ordering,
                            args,
                            listed.extras,
                            entity not in MAPPED,
                            unread,
                        )
                        if kept:
                            if len(_PAGE_STATEMENTS) >= STATEMENTS_KEPT:
                                _PAGE_STATEMENTS.pop(next(iter(_PAGE_STATEMENTS)))  # the oldest
                            _PAGE_STATEMENTS[key] = statement
                    result = await fetch_pages_by_parent(session, statement, parent_ids, ordering, args)
                    for parent_id, page in result.items():
                        found[(parent_id, args, search, order)] = page
            return [found[k] for k in keys]

        return DataLoader(load_fn=pages, max_batch_size=self._max_batch)

    def _counts(self, listed: Listed) -> DataLoader[CountKey, int]:
        """The totals of a list `_pages` pages, by parent and search."""
        query, parent = listed.query, listed.parent

        async def counts(keys: list[CountKey]) -> list[int]:
            by_search: dict[str | None, list[int]] = defaultdict(list)
            for parent_id, search in keys:
                by_search[search].append(parent_id)
            found: dict[CountKey, int] = {}
            async with self._db() as session:
                for search, parent_ids in by_search.items():
                    result = await count_by_parent(session, query(search), parent, parent_ids)
                    found.update({(pid, search): n for pid, n in result.items()})
            return [found[k] for k in keys]

        return DataLoader(load_fn=counts, max_batch_size=self._max_batch)
