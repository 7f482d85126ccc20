"""The served process's garbage collector (app.tune_collector): young collections held off for
speed, and a full collection each second so that what outlived one does not pile up."""

from __future__ import annotations

import asyncio
import gc
import shutil

from ccgraph import app as application
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
