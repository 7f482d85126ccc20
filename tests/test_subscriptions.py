"""Subscriptions over WebSocket (graphql-transport-ws), against a real server: uvicorn serving the
app on a free port, changes made by another client over HTTP, on SQLite and PostgreSQL; and on
PostgreSQL, several server processes on one database."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from ccgraph.auth.passwords import Passwords
from ccgraph.db import models as m
from ccgraph.enums import Permission as P
from tests import factories as f
from tests.conftest import ADMIN_PASSWORD, PG_URL, Api

PASSWORD = "subscriber-password-1"
WAIT = 20.0  # seconds a test waits for a message before it fails (never a timing assertion)

USER_CHANGED = """subscription($filter: UserChangedFilter) { userChanged(filter: $filter) {
  eventId type userId fieldChanges { field before after } user { id username city } } }"""
SESSION_ENDED = "subscription { viewerSessionEnded { reason code eventId } }"
UPDATE = """mutation UpdateCity($i: UserUpdateInput!) {
  userUpdate(input: $i) { user { version } userErrors { code } } }"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def server(app: Any) -> AsyncIterator[str]:
    """The app (its lifespan already running) served by uvicorn: host:port."""
    port = free_port()
    served = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(served.serve())
    while not served.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    yield f"127.0.0.1:{port}"
    served.should_exit = True
    await task


@pytest.fixture
def subscribed(app: Any) -> Any:
    """Wait until the server's broker holds `count` subscriptions: a subscription starts with what
    commits after it is registered, and graphql-transport-ws does not acknowledge a subscribe."""

    async def registered(count: int) -> None:
        deadline = time.monotonic() + WAIT
        while len(app.state.broker.subscribers) < count:
            assert time.monotonic() < deadline, f"{len(app.state.broker.subscribers)} subscriptions"
            await asyncio.sleep(0.01)

    return registered


@pytest.fixture
async def http(server: str) -> AsyncIterator[Api]:
    """Another client: GraphQL over real HTTP to the same server."""
    async with httpx.AsyncClient(base_url=f"http://{server}", timeout=WAIT) as client:
        yield Api(client)


class Socket:
    """A graphql-transport-ws client."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    @classmethod
    async def open(cls, host: str, payload: Any) -> Socket:
        ws = await connect(f"ws://{host}/graphql", subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        return cls(ws)

    @classmethod
    async def signed_in(cls, host: str, token: str) -> Socket:
        opened = await cls.open(host, {"Authorization": f"Bearer {token}"})
        assert await opened.receive() == {"type": "connection_ack"}
        return opened

    async def receive(self) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.ws.recv(), WAIT)
        assert isinstance(raw, str), "the protocol's messages are text frames (browsers read no other)"
        return dict(json.loads(raw))

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None, id: str = "1") -> None:
        message = {"id": id, "type": "subscribe", "payload": {"query": query, "variables": variables or {}}}
        await self.ws.send(json.dumps(message))

    async def next(self, id: str = "1") -> dict[str, Any]:
        """The next message of operation `id` (the payload of a `next`)."""
        while True:
            message = await self.receive()
            if message.get("id") == id:
                assert message["type"] == "next", message
                return dict(message["payload"])

    async def closed(self) -> tuple[int | None, str]:
        """The close code and reason, once the server closes (whatever it sent before)."""
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(self.ws.recv(), WAIT)
        received = closed.value.rcvd
        return (received.code, received.reason) if received else (None, "")

    async def close(self) -> None:
        await self.ws.close()


@pytest.fixture
async def sockets() -> AsyncIterator[list[Socket]]:
    opened: list[Socket] = []
    yield opened
    for s in opened:
        await s.close()


async def signed_in(host: str, api: Api, username: str, sockets: list[Socket]) -> Socket:
    opened = await Socket.signed_in(host, await api.login(username, PASSWORD))
    sockets.append(opened)
    return opened


async def person(
    db: Any, settings: Any, unit: m.BusinessUnit, name: str, *permissions: P, **kw: Any
) -> m.User:
    profile = await f.security_profile(db, unit, list(permissions))
    return await f.user(
        db, unit, name, password=PASSWORD, passwords=Passwords(settings), profiles=[profile], **kw
    )


async def update(api: Api, user_id: int, **values: Any) -> None:
    gid = f.gid("User", user_id)
    version = (await api.data("query($id: ID!) { user(id: $id) { version } }", {"id": gid}))["user"][
        "version"
    ]
    payload = (await api.data(UPDATE, {"i": {"id": gid, "version": version, **values}}))["userUpdate"]
    assert payload["userErrors"] == [], payload


async def test_a_subscriber_hears_of_a_change_made_by_another_client(
    subscribed: Any, server: str, http: Api, admin: Any, db: Any, settings: Any, sockets: list[Socket]
) -> None:
    unit = await db.get(m.BusinessUnit, 1)
    await person(db, settings, unit, "watcher", P.USERS_VIEW)
    agent = await f.user(db, unit, "agent", city="Leeds")
    await db.commit()
    watcher = await signed_in(server, http, "watcher", sockets)
    await watcher.subscribe(USER_CHANGED)
    await subscribed(1)

    http.token = await http.login("admin", ADMIN_PASSWORD)
    await update(http, agent.id, city="York")

    event = (await watcher.next())["data"]["userChanged"]
    assert event["type"] == "USER_UPDATED"
    assert event["userId"] == f.gid("User", agent.id)
    assert event["user"] == {"id": f.gid("User", agent.id), "username": "agent", "city": "York"}
    assert {"field": ["city"], "before": "Leeds", "after": "York"} in event["fieldChanges"]


@pytest.mark.transport
async def test_no_users_view_or_another_unit_hears_nothing_but_what_it_may_read(
    subscribed: Any, server: str, http: Api, admin: Any, db: Any, settings: Any, sockets: list[Socket]
) -> None:
    """Told in order: each subscriber's first event is one it may read, never the change before."""
    unit = await db.get(m.BusinessUnit, 1)
    other_unit = await f.business_unit(db, "Elsewhere")
    watcher = await person(db, settings, unit, "watcher", P.USERS_VIEW)
    blind = await person(db, settings, unit, "blind", P.QUEUES_VIEW)  # no USERS_VIEW
    outsider = await person(db, settings, other_unit, "outsider", P.USERS_VIEW)
    agent = await f.user(db, unit, "agent")
    await db.commit()
    subscribers = {
        name: await signed_in(server, http, name, sockets) for name in ("watcher", "blind", "outsider")
    }
    for s in subscribers.values():
        await s.subscribe(USER_CHANGED)
    await subscribed(3)

    http.token = await http.login("admin", ADMIN_PASSWORD)
    await update(http, agent.id, city="York")  # unit 1's agent: the watcher's only
    await update(http, blind.id, city="Hull")  # the blind user reads themselves
    await update(http, outsider.id, city="Bath")  # the outsider's unit (and themselves)

    await update(http, agent.id, city="Ely")  # the watcher's again

    seen = {name: (await s.next())["data"]["userChanged"]["userId"] for name, s in subscribers.items()}
    assert seen == {
        "watcher": f.gid("User", agent.id),
        "blind": f.gid("User", blind.id),
        "outsider": f.gid("User", outsider.id),
    }
    watching = subscribers["watcher"]
    assert (await watching.next())["data"]["userChanged"]["userId"] == f.gid("User", blind.id)
    # not the outsider's change in the other unit: the next one of unit 1
    assert (await watching.next())["data"]["userChanged"]["user"] == {
        "id": f.gid("User", agent.id),
        "username": "agent",
        "city": "Ely",
    }
    assert watcher.id != outsider.id


@pytest.mark.transport
@pytest.mark.parametrize("by_name", [False, True], ids=["every user", "two users by name"])
async def test_a_permission_revoked_mid_subscription_stops_the_stream(
    subscribed: Any,
    server: str,
    http: Api,
    admin: Any,
    db: Any,
    settings: Any,
    sockets: list[Socket],
    by_name: bool,
) -> None:
    """Following two users by name, the subscription is not told of the security profile's
    change itself: its principal is read again all the same before the next event it is told of."""
    unit = await db.get(m.BusinessUnit, 1)
    watcher = await person(db, settings, unit, "watcher", P.USERS_VIEW)
    agent = await f.user(db, unit, "agent")
    await db.commit()
    profile = watcher.security_profiles[0]
    s = await signed_in(server, http, "watcher", sockets)
    named = {"userIds": [f.gid("User", agent.id), f.gid("User", watcher.id)]}
    await s.subscribe(USER_CHANGED, {"filter": named} if by_name else None)
    await subscribed(1)
    http.token = await http.login("admin", ADMIN_PASSWORD)

    await update(http, agent.id, city="York")
    assert (await s.next())["data"]["userChanged"]["user"]["city"] == "York"

    revoke = """mutation($i: SecurityProfileUpdateInput!) { securityProfileUpdate(input: $i) {
      userErrors { code } } }"""
    gid = f.gid("SecurityProfile", profile.id)
    version = (
        await http.data(
            "query($id: ID!) { node(id: $id) { ... on SecurityProfile { version } } }", {"id": gid}
        )
    )["node"]["version"]
    body = await http.data(
        revoke, {"i": {"id": gid, "version": version, "permissions": [P.QUEUES_VIEW.name]}}
    )
    assert body["securityProfileUpdate"]["userErrors"] == []

    await update(http, agent.id, city="Hull")  # no longer for the watcher
    await update(http, watcher.id, city="Bath")  # themselves: still theirs
    event = (await s.next())["data"]["userChanged"]
    assert (event["userId"], event["user"]["city"]) == (f.gid("User", watcher.id), "Bath")


@pytest.mark.transport
async def test_viewer_session_ended_arrives_and_the_socket_closes_on_user_delete(
    subscribed: Any, server: str, http: Api, admin: Any, db: Any, settings: Any, sockets: list[Socket]
) -> None:
    unit = await db.get(m.BusinessUnit, 1)
    doomed = await person(db, settings, unit, "doomed", P.USERS_VIEW)
    await db.commit()
    s = await signed_in(server, http, "doomed", sockets)
    await s.subscribe(SESSION_ENDED)
    await s.subscribe(USER_CHANGED, id="2")
    await subscribed(2)
    http.token = await http.login("admin", ADMIN_PASSWORD)

    deleted = await http.data(
        "mutation($id: ID!) { userDelete(input: {id: $id}) { userErrors { code } } }",
        {"id": f.gid("User", doomed.id)},
    )
    assert deleted["userDelete"]["userErrors"] == []

    ended = (await s.next())["data"]["viewerSessionEnded"]
    assert ended["reason"] == "USER_DELETED" and ended["eventId"] is not None
    assert (await s.closed())[0] == 4401


@pytest.mark.transport
async def test_viewer_session_ended_on_a_revoked_session_only_for_that_session(
    subscribed: Any, server: str, http: Api, admin: Any, db: Any, settings: Any, sockets: list[Socket]
) -> None:
    unit = await db.get(m.BusinessUnit, 1)
    await person(db, settings, unit, "twice", P.USERS_VIEW)
    await db.commit()
    first_token = await http.login("twice", PASSWORD)
    first = await Socket.signed_in(server, first_token)
    second = await signed_in(server, http, "twice", sockets)
    sockets.append(first)
    for s in (first, second):
        await s.subscribe(SESSION_ENDED)
        await s.subscribe(USER_CHANGED, id="2")
    await subscribed(4)

    http.token = first_token
    sessions = await http.data("{ viewer { sessions { id current } } }")
    current = next(s["id"] for s in sessions["viewer"]["sessions"] if s["current"])
    revoked = await http.data(
        "mutation($id: ID!) { sessionRevoke(input: {id: $id}) { userErrors { code } } }", {"id": current}
    )
    assert revoked["sessionRevoke"]["userErrors"] == []

    ended = (await first.next())["data"]["viewerSessionEnded"]
    assert (ended["reason"], ended["code"]) == ("SESSION_REVOKED", "TOKEN_REVOKED")
    assert (await first.closed())[0] == 4401
    # The other session hears of the credentials change of its user, and goes on.
    event = (await second.next("2"))["data"]["userChanged"]
    assert event["type"] == "USER_CREDENTIALS_CHANGED"


@pytest.mark.transport
@pytest.mark.parametrize(
    ("payload", "code", "reason"),
    [
        ({}, 4401, "UNAUTHENTICATED"),
        ({"Authorization": "Bearer not-a-token"}, 4401, "TOKEN_INVALID"),
        ({"Authorization": "Basic abc"}, 4401, "AUTHORIZATION_UNSUPPORTED"),
        ({"Authorization": "AccessKey AKnope:secret"}, 4401, "ACCESS_KEY_INVALID"),
    ],
)
async def test_a_bad_connection_init_is_refused_with_its_close_code(
    server: str, admin: Any, payload: dict[str, str], code: int, reason: str
) -> None:
    s = await Socket.open(server, payload)
    closed = await s.closed()
    assert closed[0] == code and closed[1].startswith(reason), closed


@pytest.mark.transport
async def test_a_password_to_change_first_is_refused_with_4403_and_queries_go_over_http(
    server: str, http: Api, admin: Any, db: Any, settings: Any, sockets: list[Socket]
) -> None:
    unit = await db.get(m.BusinessUnit, 1)
    await person(db, settings, unit, "fresh", P.USERS_VIEW, must_change_password=True)
    await person(db, settings, unit, "ready", P.USERS_VIEW)
    await db.commit()
    s = await Socket.open(server, {"Authorization": f"Bearer {await http.login('fresh', PASSWORD)}"})
    assert (await s.closed())[0] == 4403

    ready = await signed_in(server, http, "ready", sockets)
    await ready.subscribe("{ viewer { username } }")
    message = await ready.receive()
    assert (
        message["type"] == "error"
        and message["payload"][0]["extensions"]["code"] == "OPERATION_NOT_SUPPORTED"
    )


# -- several processes on one PostgreSQL database ------------------------------------------------


@contextmanager
def serve(settings: Any, *logs: Path, workers: int = 1) -> Iterator[list[str]]:
    """`ccgraph serve` as processes on the test's PostgreSQL schema, one a log given (started
    together): their host:port, each log in its file."""
    env = os.environ | {
        "CCGRAPH_DATABASE_URL": settings.database_url,
        "CCGRAPH_DATABASE_SCHEMA": settings.database_schema,
        "CCGRAPH_DB_POOL_SIZE": "3",
        "CCGRAPH_MAIL_POLL_SECONDS": "0",
        "CCGRAPH_WEBHOOKS_POLL_SECONDS": "0",
        "CCGRAPH_LOG_LEVEL": "info",
        "CCGRAPH_ARGON2_TIME_COST": "1",
        "CCGRAPH_ARGON2_MEMORY_KIB": "8",
    }
    ports = [free_port() for _ in logs]
    processes = []
    try:
        for port, log in zip(ports, logs, strict=True):
            with log.open("wb") as sink:
                processes.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "ccgraph",
                            "serve",
                            "--workers",
                            str(workers),
                            "--port",
                            str(port),
                        ],
                        env=env,
                        stdout=subprocess.DEVNULL,
                        stderr=sink,
                    )
                )
        deadline = time.monotonic() + 60
        for process, log in zip(processes, logs, strict=True):
            while log.read_text().count("Application startup complete") < workers:
                assert process.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
                time.sleep(0.1)
        yield [f"127.0.0.1:{port}" for port in ports]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def logged(stderr: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stderr.read_text().splitlines() if line.startswith("{")]


def postgresql_only(settings: Any) -> None:
    if settings.is_sqlite:
        pytest.skip("several processes share one database on PostgreSQL")


@pytest.mark.transport
@pytest.mark.skipif(not PG_URL, reason="needs CCGRAPH_TEST_DATABASE_URL (PostgreSQL)")
async def test_two_servers_on_one_database_each_hear_of_the_others_changes(
    settings: Any, admin: Any, db: Any, tmp_path: Path, sockets: list[Socket]
) -> None:
    postgresql_only(settings)
    unit = await db.get(m.BusinessUnit, 1)
    agent = await f.user(db, unit, "agent")
    await db.commit()
    with serve(settings, tmp_path / "a.log", tmp_path / "b.log") as (a, b):
        async with (
            httpx.AsyncClient(base_url=f"http://{a}", timeout=WAIT) as on_a,
            httpx.AsyncClient(base_url=f"http://{b}", timeout=WAIT) as on_b,
        ):
            via_a, via_b = Api(on_a), Api(on_b)
            via_a.token = await via_a.login("admin", ADMIN_PASSWORD)
            via_b.token = via_a.token
            listening = {}
            for host in (a, b):
                listening[host] = await Socket.signed_in(host, via_a.token)
                sockets.append(listening[host])
                await listening[host].subscribe(USER_CHANGED)
            await settle(via_a, agent.id, list(listening.values()))
            # An event shows the user as they are when it is delivered, so each change is heard
            # everywhere before the next is made.
            for via, city in ((via_b, "York"), (via_a, "Hull")):  # A hears of B's, B of A's
                await update(via, agent.id, city=city)
                for host in (a, b):
                    assert await city_of(listening[host]) == city, host


@pytest.mark.transport
@pytest.mark.skipif(not PG_URL, reason="needs CCGRAPH_TEST_DATABASE_URL (PostgreSQL)")
async def test_with_two_workers_a_subscriber_on_one_hears_of_a_change_made_through_the_other(
    settings: Any, admin: Any, db: Any, tmp_path: Path, sockets: list[Socket]
) -> None:
    """`ccgraph serve --workers 2`: the workers share the port, so which one a connection reaches
    is the kernel's choice; the log says (each line has the worker's pid): sockets are opened
    until both workers hold some, and every change, whichever worker made it, reaches them all."""
    postgresql_only(settings)
    unit = await db.get(m.BusinessUnit, 1)
    agent = await f.user(db, unit, "agent")
    await db.commit()
    stderr = tmp_path / "served.log"
    with serve(settings, stderr, workers=2) as (host,):
        async with httpx.AsyncClient(base_url=f"http://{host}", timeout=WAIT) as client:
            api = Api(client)
            api.token = await api.login("admin", ADMIN_PASSWORD)
            worker_of: dict[Socket, int] = {}
            for _ in range(40):
                opened = await Socket.signed_in(host, api.token)
                sockets.append(opened)
                await opened.subscribe(USER_CHANGED)
                port = opened.ws.local_address[1]
                accepted = [
                    r["pid"] for r in logged(stderr) if r["message"].startswith(f"127.0.0.1:{port} - ")
                ]
                worker_of[opened] = accepted[0]
                if len(set(worker_of.values())) == 2:
                    break
            assert len(set(worker_of.values())) == 2, "every socket reached one worker"

            await settle(api, agent.id, list(worker_of))
            for n, city in enumerate(("York", "Hull", "Bath", "Ely")):
                async with httpx.AsyncClient(base_url=f"http://{host}", timeout=WAIT) as fresh:
                    writer = Api(fresh)  # a new connection: either worker may take it
                    writer.token = api.token
                    fresh.headers["x-request-id"] = f"change-{n}"
                    await update(writer, agent.id, city=city)
                heard = {worker_of[s] for s in worker_of if await city_of(s) == city}
                assert heard == set(worker_of.values()), n
                made_by = {r["pid"] for r in logged(stderr) if r.get("requestId") == f"change-{n}"}
                assert len(made_by) == 1 and heard - made_by, "the other worker's sockets heard of it too"


async def settle(api: Api, user_id: int, sockets: list[Socket]) -> None:
    """Until every socket has heard of a change: a subscription follows what commits after it is
    registered, which graphql-transport-ws does not acknowledge; in another process the test
    cannot look. So a change is made again until each has heard of one (their cities start with
    `probe`, which `city_of` passes over)."""
    pending = set(sockets)
    deadline = time.monotonic() + WAIT
    for n in range(1000):
        assert time.monotonic() < deadline, f"{len(pending)} sockets heard of no change"
        await update(api, user_id, city=f"probe{n}")
        for s in list(pending):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(s.next(), 0.5)
                pending.discard(s)
        if not pending:
            return


async def city_of(s: Socket) -> str:
    """The city of the next user change a socket hears of, probes passed over."""
    while True:
        city: str = (await s.next())["data"]["userChanged"]["user"]["city"]
        if not city.startswith("probe"):
            return city


PROGRESS = """subscription($id: String!) { importProgress(importId: $id) {
  importId rowsRead rowsToWrite rowsWritten rowsRefused finished succeeded } }"""


async def upload(api: Api, rows: list[list[str]], **input: Any) -> dict[str, Any]:
    extra = "".join(f", {k}: {json.dumps(v)}" for k, v in input.items())
    operations = {
        "query": "mutation($file: Upload!) { usersImport(input: {file: $file, format: CSV"
        + extra
        + "}) { created failed userErrors { code } results { errors { column code message } } } }",
        "variables": {"file": None},
    }
    content = "\n".join(",".join(row) for row in rows).encode()
    response = await api.client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("users.csv", content, "text/csv")},
        headers={"authorization": f"Bearer {api.token}"},
    )
    body = response.json()
    assert "errors" not in body, body
    return dict(body["data"]["usersImport"])


@pytest.mark.transport
async def test_import_progress_follows_a_users_import_for_whom_may_read_its_unit(
    subscribed: Any, server: str, http: Api, admin: Any, db: Any, settings: Any, sockets: list[Socket]
) -> None:
    other_unit = await f.business_unit(db, "Elsewhere")
    await person(db, settings, other_unit, "outsider", P.USERS_VIEW, P.USERS_CREATE, P.USERS_EDIT)
    await f.security_profile(db, await db.get(m.BusinessUnit, 1), [P.USERS_VIEW], name="Agent")
    await f.security_profile(db, other_unit, [P.USERS_VIEW], name="Agent")
    await db.commit()
    http.token = await http.login("admin", ADMIN_PASSWORD)
    watching = await Socket.signed_in(server, http.token)
    sockets.append(watching)
    await watching.subscribe(PROGRESS, {"id": "import-1"})
    outsider = await signed_in(server, http, "outsider", sockets)
    await outsider.subscribe(PROGRESS, {"id": "import-1"}, id="1")
    await outsider.subscribe(PROGRESS, {"id": "import-2"}, id="2")
    await subscribed(3)

    header = ["username", "firstName", "lastName", "email", "securityProfiles"]
    rows = [
        ["imp1", "A", "B", "imp1@example.com", "Agent"],
        ["imp2", "A", "B", "not-an-email", "Agent"],
        ["imp3", "A", "B", "imp3@example.com", "Agent"],
    ]
    imported = await upload(http, [header, *rows], atomic=False, importId="import-1")
    assert (imported["created"], imported["failed"]) == (2, 1), imported

    reports = []
    while not reports or not reports[-1]["finished"]:
        reports.append((await watching.next())["data"]["importProgress"])
    assert await watching.receive() == {"id": "1", "type": "complete"}
    expected = [
        {"rowsWritten": 0, "finished": False, "succeeded": None},  # the file read and checked
        {"rowsWritten": 2, "finished": False, "succeeded": None},  # its one chunk written
        {"rowsWritten": 2, "finished": True, "succeeded": True},  # committed
    ]
    common = {"importId": "import-1", "rowsRead": 3, "rowsToWrite": 3, "rowsRefused": 1}
    assert reports == [common | e for e in expected[-len(reports) :]]

    # The outsider (another unit) is told of its own import only.
    outsider_http = Api(http.client)
    outsider_http.token = await http.login("outsider", PASSWORD)
    await upload(
        outsider_http, [header, ["out1", "A", "B", "out1@example.com", "Agent"]], importId="import-2"
    )
    while True:
        message = await outsider.receive()
        assert message["id"] == "2", message
        if message["payload"]["data"]["importProgress"]["finished"]:
            break


@pytest.mark.transport
async def test_validate_only_writes_are_never_published(
    subscribed: Any, server: str, http: Api, admin: Any, db: Any, settings: Any, sockets: list[Socket]
) -> None:
    unit = await db.get(m.BusinessUnit, 1)
    agent = await f.user(db, unit, "agent")
    await db.commit()
    http.token = await http.login("admin", ADMIN_PASSWORD)
    s = await Socket.signed_in(server, http.token)
    sockets.append(s)
    await s.subscribe(USER_CHANGED)
    await subscribed(1)
    gid = f.gid("User", agent.id)
    dry = await http.data(
        "mutation($i: UserUpdateInput!) { userUpdate(input: $i) { user { city } userErrors { code } } }",
        {"i": {"id": gid, "version": 1, "city": "Nowhere", "validateOnly": True}},
    )
    assert dry["userUpdate"] == {"user": {"city": "Nowhere"}, "userErrors": []}
    await update(http, agent.id, city="York")
    assert (await s.next())["data"]["userChanged"]["user"]["city"] == "York"


CATALOG_CHANGED = """subscription($kinds: [CatalogKind!]) { catalogChanged(kinds: $kinds) {
  type nodeId fieldChanges { field after } node { ... on Queue { name } } } }"""


@pytest.mark.transport
async def test_catalog_changed_follows_the_kinds_asked_for(
    subscribed: Any, server: str, http: Api, admin: Any, db: Any, settings: Any, sockets: list[Socket]
) -> None:
    http.token = await http.login("admin", ADMIN_PASSWORD)
    s = await Socket.signed_in(server, http.token)
    sockets.append(s)
    await s.subscribe(CATALOG_CHANGED, {"kinds": ["QUEUE"]})
    await subscribed(1)
    team = await http.data('mutation { teamCreate(input: {name: "Tier 2"}) { userErrors { code } } }')
    assert team["teamCreate"]["userErrors"] == []
    queue = await http.data(
        'mutation { queueCreate(input: {name: "VIP"}) { queue { id } userErrors { code } } }'
    )
    event = (await s.next())["data"]["catalogChanged"]
    assert (event["type"], event["nodeId"], event["node"]) == (
        "QUEUE_CREATED",
        queue["queueCreate"]["queue"]["id"],
        {"name": "VIP"},
    )
    assert {"field": ["name"], "after": "VIP"} in event["fieldChanges"]


@pytest.mark.transport
async def test_the_legacy_graphql_ws_protocol_signs_in_and_subscribes_too(
    subscribed: Any, server: str, http: Api, admin: Any, db: Any, settings: Any
) -> None:
    unit = await db.get(m.BusinessUnit, 1)
    agent = await f.user(db, unit, "agent")
    await db.commit()
    http.token = await http.login("admin", ADMIN_PASSWORD)
    async with connect(f"ws://{server}/graphql", subprotocols=["graphql-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {http.token}"}})
        )
        assert json.loads(await asyncio.wait_for(ws.recv(), WAIT))["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "start", "payload": {"query": USER_CHANGED}}))
        await subscribed(1)
        await update(http, agent.id, city="York")
        message = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
        assert message["type"] == "data"
        assert message["payload"]["data"]["userChanged"]["user"]["city"] == "York"
    async with connect(f"ws://{server}/graphql", subprotocols=["graphql-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), WAIT))["type"] == "connection_error"
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), WAIT)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


# -- the broker itself ---------------------------------------------------------------------------


@pytest.mark.transport
async def test_one_read_a_wake_up_is_shared_and_a_subscriber_too_far_behind_is_dropped(
    app: Any, admin_api: Api, db: Any
) -> None:
    from ccgraph.live import DROPPED, Subscriber

    broker = app.state.broker
    unit = await db.get(m.BusinessUnit, 1)
    agent = await f.user(db, unit, "agent")
    await db.commit()
    keeping_up = [Subscriber(2, wants=lambda e: e.type.is_user) for _ in range(3)]
    behind = Subscriber(2, wants=lambda e: e.type.is_user)
    for subscriber in (*keeping_up, behind):
        await broker.subscribe(subscriber)

    for city in ("York", "Hull", "Bath"):
        await update(admin_api, agent.id, city=city)  # its own batch: heard of before the next
        batches = [await asyncio.wait_for(s.queue.get(), WAIT) for s in keeping_up]
        assert all(b is batches[0] for b in batches)  # one read, the same batch for each
        assert batches[0].events[0].changes["city"]["after"] == city

    assert behind.dropped and behind not in broker.subscribers
    assert behind.queue.get_nowait() is DROPPED and behind.queue.empty()  # nothing else is kept


@pytest.mark.transport
async def test_a_subscription_over_http_is_refused_it_runs_over_websocket(admin_api: Api) -> None:
    response = await admin_api.client.post(
        "/graphql",
        json={"query": "subscription Ended { viewerSessionEnded { reason } }"},
        headers={"authorization": f"Bearer {admin_api.token}"},
    )
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "OPERATION_NOT_SUPPORTED" and "WebSocket" in error["message"]
    # a query that only names the word runs as ever
    assert await admin_api.data("query subscriptionFree { viewer { username } }") == {
        "viewer": {"username": "admin"}
    }
