"""The served process's garbage collector (app.tune_collector): young collections held off for
speed, and a full collection each second the process is idle (under steady load, every ten
seconds) so that what outlived one does not pile up."""

from __future__ import annotations

import asyncio
import gc
import shutil
import time

import pytest

from ccgraph import app as application
from ccgraph.http import Guard
from tests.conftest import cheap_settings


async def test_a_served_process_collects_fully_every_second(monkeypatch, sqlite_template, tmp_path):
    path = tmp_path / "ccgraph.db"
    shutil.copy(sqlite_template, path)
    app = application.create_app(cheap_settings(f"sqlite+aiosqlite:///{path}"))
    monkeypatch.setattr(application, "_tuned", False)  # put back afterwards, as the collector is
    threshold = gc.get_threshold()
    application.tune_collector()  # as app_factory does: what is there now is frozen
    try:
        full = gc.get_stats()[2]["collections"]
        async with app.router.lifespan_context(app):
            deadline = time.monotonic() + 30  # each second, or later on a loaded machine
            while gc.get_stats()[2]["collections"] - full < 2 and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            assert gc.get_stats()[2]["collections"] - full >= 2
        after = gc.get_stats()[2]["collections"]
        await asyncio.sleep(1.2)
        assert gc.get_stats()[2]["collections"] == after  # stopped with the app
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


async def test_while_requests_are_in_flight_the_full_collection_waits(monkeypatch):
    """With 16 pages in flight a full collection walks all their objects: it waits for a
    moment without requests, or for `at_most` seconds under load. The collector's own calls are
    counted (not the interpreter's collections, which allocation may start at any time), and no
    bound is put on how soon they come: a loaded machine may be slow, never early."""
    started: list[float] = []

    async def collections(count: int) -> list[float]:
        """When the collector asked for its first `count` collections (waiting a minute at most)."""
        deadline = time.monotonic() + 60
        while len(started) < count and time.monotonic() < deadline:  # noqa: ASYNC110 (nothing to await)
            await asyncio.sleep(0.01)
        assert len(started) >= count, f"{len(started)} of {count} collections in a minute"
        return started[:count]

    async def collecting(at_most: float, count: int) -> list[float]:
        collector = asyncio.create_task(application.collect_when_idle(every=0.05, at_most=at_most))
        try:
            return await collections(count)
        finally:
            collector.cancel()
            with pytest.raises(asyncio.CancelledError):
                await collector

    monkeypatch.setattr(application.gc, "collect", lambda: started.append(time.monotonic()))
    monkeypatch.setattr(Guard, "in_flight", 1)
    began = time.monotonic()
    first, second = await collecting(at_most=0.5, count=2)
    assert first - began >= 0.5 and second - first >= 0.5  # busy: only at the bound

    started.clear()
    monkeypatch.setattr(Guard, "in_flight", 0)
    await collecting(at_most=3600, count=3)  # idle: each time it looks, long before the bound


async def test_a_request_is_in_flight_until_it_is_answered(api, monkeypatch):
    seen: list[int] = []
    get_context = application.GraphQLApp.get_context

    async def noting(self, request, response):
        seen.append(Guard.in_flight)
        return await get_context(self, request, response)

    monkeypatch.setattr(application.GraphQLApp, "get_context", noting)
    before = Guard.in_flight
    await api.post("{ __typename }")
    await api.post("{ nosuchfield }")  # refused: still counted out
    assert seen == [before + 1, before + 1] and Guard.in_flight == before
