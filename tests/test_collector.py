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
            await asyncio.sleep(2.5)
            assert gc.get_stats()[2]["collections"] - full >= 2
        after = gc.get_stats()[2]["collections"]
        await asyncio.sleep(1.2)
        assert gc.get_stats()[2]["collections"] == after  # stopped with the app
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


async def test_while_requests_are_in_flight_the_full_collection_waits(monkeypatch):
    """With 16 pages in flight a full collection walks all their objects: it waits for a
    moment without requests, or for `at_most` seconds under load."""

    def full() -> int:
        return int(gc.get_stats()[2]["collections"])

    async def until(count: int) -> float:
        """Seconds until `count` full collections have run (at most 10)."""
        started = time.monotonic()
        while full() < count and time.monotonic() - started < 10:  # noqa: ASYNC110 (the gc has no event)
            await asyncio.sleep(0.01)
        return time.monotonic() - started

    monkeypatch.setattr(Guard, "in_flight", 1)
    before, started = full(), time.monotonic()
    collector = asyncio.create_task(application.collect_when_idle(every=0.05, at_most=1.5))
    try:
        await until(before + 1)
        assert full() == before + 1 and time.monotonic() - started >= 1.5  # busy: only at the bound
        monkeypatch.setattr(Guard, "in_flight", 0)
        assert await until(before + 4) < 2 and full() >= before + 4  # idle: each time it looks
    finally:
        collector.cancel()
        with pytest.raises(asyncio.CancelledError):
            await collector


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
