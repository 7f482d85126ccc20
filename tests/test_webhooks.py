"""Webhooks (issue 19, part 3): a partner's real HTTP receiver on 127.0.0.1 gets signed deliveries
of changes made through the API, verified with the Standard Webhooks reference implementation;
nothing is lost while it is down; a retry carries the same webhook-id; an endpoint is never told
of what its owner may not see; a day of failures turns it off and mails the unit's webhook
managers. The sender is driven a pass at a time, on a clock the test moves."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from standardwebhooks import Webhook

from ccgraph.app import create_app
from ccgraph.auth.passwords import Passwords
from ccgraph.db import models as m
from ccgraph.db.base import utcnow
from ccgraph.enums import Permission as P
from ccgraph.services import webhooks
from tests import factories as f
from tests.conftest import ADMIN_PASSWORD, Api
from tests.test_credentials import free_port

ENDPOINT = "webhook { id url events active disabledReason failingSince }"
CREATE = f"""mutation($i: WebhookCreateInput!) {{ webhookCreate(input: $i) {{
  {ENDPOINT} signingSecret userErrors {{ field code message }} }} }}"""
UPDATE = f"""mutation($i: WebhookUpdateInput!) {{ webhookUpdate(input: $i) {{
  {ENDPOINT} userErrors {{ field code message }} }} }}"""
ROTATE = """mutation($i: WebhookRefInput!) { webhookSecretRotate(input: $i) {
  signingSecret userErrors { field code } } }"""
LOG = """{ webhooks { nodes { id active deliveries(first: 10) { totalCount nodes {
  messageId eventId type status attempts lastResponseCode lastError lastAttemptAt } } } } }"""
QUEUE = """mutation($n: String!, $b: ID) { queueCreate(input: {name: $n, businessUnitId: $b}) {
  queue { id } userErrors { code } } }"""
USER = (
    """mutation($i: UserCreateInput!) { userCreate(input: $i) { user { id } userErrors { field code } } }"""
)


README = (Path(__file__).parent.parent / "README.md").read_text()


@pytest.fixture
def settings(settings):
    """The receiver is on 127.0.0.1; no sender runs on its own (the tests step it)."""
    return settings.with_(webhooks_allow_private=True, webhooks_poll_seconds=0, mail_poll_seconds=0)


class Receiver:
    """A partner's endpoint: a real HTTP server in a thread that records every POST (headers,
    body) and answers the next status of `answers`, 200 when none is left. `stop` takes it down:
    connections are refused until `start`."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.answers: list[int] = []
        self.server: ThreadingHTTPServer | None = None
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                with receiver.lock:  # the n-th request recorded gets the n-th answer
                    receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                    status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.received]


@pytest.fixture
def receiver():
    r = Receiver()
    r.start()
    yield r
    r.stop()


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> Any:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def sender(app) -> webhooks.WebhookSender:
    s: webhooks.WebhookSender = app.state.webhook_sender
    s.clock = Clock()
    return s


def spec_signature(secret: str, headers: dict[str, str], body: bytes) -> str:
    """The specification's algorithm, written out: base64 of HMAC-SHA256, keyed with the
    base64-decoded secret (after `whsec_`), over "<webhook-id>.<webhook-timestamp>.<body>"."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


async def create_endpoint(api: Api, url: str, events: list[str], token: str | None = None) -> dict[str, Any]:
    data = (
        await api.data(CREATE, {"i": {"url": url, "events": events, "description": "Partner"}}, token=token)
    )["webhookCreate"]
    assert data["userErrors"] == [], data
    return data


def name_of(data: dict[str, Any]) -> Any:
    return next(c["after"] for c in data["fieldChanges"] if c["field"] == ["name"])


async def plain_profile(db) -> str:
    profile = await f.security_profile(db, await db.get(m.BusinessUnit, 1), [], name="Plain")
    await db.commit()
    return f.gid("SecurityProfile", profile.id)


def newcomer(name: str, profile: str) -> dict[str, Any]:
    password = f"{name}-password-1"
    return {
        "securityProfileIds": [profile],
        "username": name,
        "firstName": "New",
        "lastName": name.title(),
        "email": f"{name}@example.com",
        "password": password,
        "passwordConfirmation": password,
    }


async def signed_in(
    app, api: Api, db, name: str, permissions: list[P], unit_id: int = 1
) -> tuple[m.User, str]:
    unit = await db.get(m.BusinessUnit, unit_id)
    profile = await f.security_profile(db, unit, permissions)
    user = await f.user(
        db,
        unit,
        name,
        password=f"{name}-password-1",
        passwords=Passwords(app.state.settings),
        profiles=[profile],
    )
    await db.commit()
    return user, await api.login(name, f"{name}-password-1")


@pytest.mark.transport
async def test_a_change_made_through_the_api_reaches_a_real_receiver_signed_as_the_standard_says(
    admin_api, receiver, sender, db
) -> None:
    created = await create_endpoint(admin_api, receiver.url, ["USER_CREATED"])
    secret = created["signingSecret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    user = (await admin_api.data(USER, {"i": newcomer("gilda", await plain_profile(db))}))["userCreate"]
    assert user["userErrors"] == []
    await admin_api.data(QUEUE, {"n": "Not asked for"})  # a queue.created: not one of its types

    assert await sender.step() == (1, 1, 0)
    ((headers, body),) = receiver.received
    payload = Webhook(secret).verify(body, headers)  # the reference implementation
    assert headers["webhook-signature"] == spec_signature(secret, headers, body)
    assert headers["content-type"] == "application/json"
    assert payload["type"] == "user.created"
    assert payload["data"]["subjectId"] == user["user"]["id"]
    assert payload["data"]["businessUnitId"] == f.gid("BusinessUnit", 1)
    changed = {tuple(c["field"]): c["after"] for c in payload["data"]["fieldChanges"]}
    assert changed[("username",)] == "gilda"
    assert "password" not in json.dumps(payload).lower().replace("mustchangepassword", "")
    event_id = payload["data"]["eventId"]
    user_pk = await db.scalar(select(m.User.id).where(m.User.username == "gilda"))
    assert headers["webhook-id"] == f"evt_{event_id}_{user_pk}"
    with pytest.raises(Exception, match="signature"):
        Webhook(webhooks.new_secret()).verify(body, headers)  # another secret does not verify

    (endpoint,) = (await admin_api.data(LOG))["webhooks"]["nodes"]
    (delivery,) = endpoint["deliveries"]["nodes"]
    assert delivery | {"lastAttemptAt": None} == {
        "messageId": headers["webhook-id"],
        "eventId": event_id,
        "type": "USER_CREATED",
        "status": "DELIVERED",
        "attempts": 1,
        "lastResponseCode": 200,
        "lastError": None,
        "lastAttemptAt": None,
    }
    assert await sender.step() == (0, 0, 0)  # delivered once
    # data.cursor is the event's place in the events feed: reading on from it skips the event
    feed = await admin_api.data(
        "query($after: String) { events(after: $after, first: 100) { nodes { eventId } } }",
        {"after": payload["data"]["cursor"]},
    )
    assert event_id not in {e["eventId"] for e in feed["events"]["nodes"]}


@pytest.mark.transport
async def test_receiver_down_then_up_loses_nothing_and_a_retry_carries_the_same_message_id(
    admin_api, receiver, sender
) -> None:
    created = await create_endpoint(admin_api, receiver.url, ["QUEUE_CREATED"])
    receiver.stop()
    for name in ("One", "Two", "Three"):
        await admin_api.data(QUEUE, {"n": name})
    assert await sender.step() == (3, 0, 3)  # connection refused, three times
    log = (await admin_api.data(LOG))["webhooks"]["nodes"][0]["deliveries"]["nodes"]
    assert {(d["status"], d["attempts"], d["lastResponseCode"]) for d in log} == {("FAILING", 1, None)}
    assert all("ConnectError" in d["lastError"] for d in log)
    assert await sender.step() == (0, 0, 0)  # each waits for its backoff

    receiver.start()
    receiver.answers = [503]  # the first try after the outage fails once more
    sender.clock.advance(seconds=6)
    assert await sender.step() == (0, 2, 1)
    first_ids = [h["webhook-id"] for h, _ in receiver.received]
    sender.clock.advance(seconds=11)
    assert await sender.step() == (0, 1, 0)
    retried = receiver.received[-1][0]["webhook-id"]
    assert retried == first_ids[0]  # the one that got 503, again, with its id
    verified = [Webhook(created["signingSecret"]).verify(b, h)["data"] for h, b in receiver.received]
    names = [name_of(d) for d in verified]
    assert sorted(names) == sorted(["One", "Two", "Three", names[0]])  # none lost; the 503'd one twice
    log = (await admin_api.data(LOG))["webhooks"]["nodes"][0]["deliveries"]["nodes"]
    assert sorted((d["status"], d["attempts"]) for d in log) == [
        ("DELIVERED", 2),
        ("DELIVERED", 2),
        ("DELIVERED", 3),
    ]
    assert len({d["messageId"] for d in log}) == 3


async def test_fan_out_twice_at_once_makes_each_delivery_once(admin_api, receiver, sender, db) -> None:
    await create_endpoint(admin_api, receiver.url, ["QUEUE_CREATED"])
    for name in ("A", "B"):
        await admin_api.data(QUEUE, {"n": name})
    made = await asyncio.gather(sender.fan_out(), sender.fan_out())
    assert sum(made) == 2
    assert await db.scalar(select(func.count()).select_from(m.WebhookDelivery)) == 2


@pytest.mark.transport
async def test_urls_a_delivery_must_not_reach_are_refused_naming_the_field(settings, admin, receiver) -> None:
    strict = create_app(settings.with_(webhooks_allow_private=False))
    async with (
        strict.router.lifespan_context(strict),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=strict), base_url="http://test") as client,
    ):
        api = Api(client)
        api.token = await api.login("admin", ADMIN_PASSWORD)
        refused = {
            "ftp://partner.example/hooks": "URL_NOT_ALLOWED",
            "file:///etc/passwd": "URL_NOT_ALLOWED",
            "http://127.0.0.1:9/hooks": "URL_NOT_ALLOWED",
            "http://localhost/hooks": "URL_NOT_ALLOWED",
            "http://10.1.2.3/hooks": "URL_NOT_ALLOWED",
            "http://192.168.0.10/hooks": "URL_NOT_ALLOWED",
            "http://169.254.169.254/latest/meta-data": "URL_NOT_ALLOWED",
            "http://100.64.0.1/hooks": "URL_NOT_ALLOWED",
            "http://[::1]/hooks": "URL_NOT_ALLOWED",
            "http://[::ffff:127.0.0.1]/hooks": "URL_NOT_ALLOWED",
            "http://[fe80::1]/hooks": "URL_NOT_ALLOWED",
            "http://0.0.0.0/hooks": "URL_NOT_ALLOWED",
            "http://224.0.0.1/hooks": "URL_NOT_ALLOWED",
            "http://name.invalid/hooks": "URL_NOT_ALLOWED",
            "https://user:secret@93.184.215.14/hooks": "INVALID",
            "not a url": "URL_NOT_ALLOWED",
        }
        empty = await api.data(CREATE, {"i": {"url": "https://93.184.215.14/hooks", "events": []}})
        assert [(e["field"], e["code"]) for e in empty["webhookCreate"]["userErrors"]] == [
            (["events"], "REQUIRED")
        ]
        for url, code in refused.items():
            data = (await api.data(CREATE, {"i": {"url": url, "events": ["USER_CREATED"]}}))["webhookCreate"]
            assert data["webhook"] is None, url
            assert [(e["field"], e["code"]) for e in data["userErrors"]] == [(["url"], code)], url
        public = await create_endpoint(api, "https://93.184.215.14/hooks", ["USER_CREATED"])
        moved = await api.data(UPDATE, {"i": {"id": public["webhook"]["id"], "url": receiver.url}})
        assert [(e["field"], e["code"]) for e in moved["webhookUpdate"]["userErrors"]] == [
            (["url"], "URL_NOT_ALLOWED")
        ]

    # checked again at delivery: an endpoint accepted while private addresses were allowed
    lenient = create_app(settings)
    async with (
        lenient.router.lifespan_context(lenient),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=lenient), base_url="http://test") as client,
    ):
        api = Api(client)
        api.token = await api.login("admin", ADMIN_PASSWORD)
        await create_endpoint(api, receiver.url, ["QUEUE_CREATED"])
        await api.data(QUEUE, {"n": "Q"})
        sender: webhooks.WebhookSender = lenient.state.webhook_sender
        sender.settings = settings.with_(webhooks_allow_private=False)
        assert await sender.step() == (1, 0, 1)
        assert receiver.received == []
        (delivery,) = (await api.data(LOG))["webhooks"]["nodes"][-1]["deliveries"]["nodes"]
        assert delivery["lastError"].startswith("refused: The host 127.0.0.1 is at 127.0.0.1")


async def test_an_endpoint_is_told_only_what_its_owner_may_see_when_it_happens(
    app, api, admin, receiver, sender, db
) -> None:
    admin_token = await api.login("admin", ADMIN_PASSWORD)
    other_unit = await f.business_unit(db, "Elsewhere")
    owner, token = await signed_in(app, api, db, "partner", [P.WEBHOOKS_MANAGE, P.QUEUES_VIEW])
    created = await create_endpoint(
        api, receiver.url, ["USER_CREATED", "USER_UPDATED", "QUEUE_CREATED", "QUEUE_UPDATED"], token=token
    )
    await api.data(
        USER, {"i": newcomer("unseen", await plain_profile(db))}, token=admin_token
    )  # USERS_VIEW: not held
    await api.data(QUEUE, {"n": "Theirs", "b": f.gid("BusinessUnit", other_unit.id)}, token=admin_token)
    await api.data(QUEUE, {"n": "Ours"}, token=admin_token)
    await api.data(
        "mutation($i: UserUpdateInput!) { userUpdate(input: $i) { userErrors { code } } }",
        {"i": {"id": f.gid("User", owner.id), "version": owner.version, "city": "Leeds"}},
        token=admin_token,
    )  # the owner themselves: always readable
    await sender.step()
    seen = [(b["type"], b["data"]["businessUnitId"]) for b in receiver.bodies()]
    assert sorted(seen) == [
        ("queue.created", f.gid("BusinessUnit", 1)),
        ("user.updated", f.gid("BusinessUnit", 1)),
    ]

    # a permission taken away stops what follows
    profile = (
        (await db.execute(select(m.SecurityProfile).where(m.SecurityProfile.name.like("Profile %"))))
        .scalars()
        .all()
    )
    for p in profile:
        p.permissions = [P.WEBHOOKS_MANAGE.value]
    await db.commit()
    await api.data(QUEUE, {"n": "Later"}, token=admin_token)
    assert await sender.step() == (0, 0, 0)
    # and without WEBHOOKS_MANAGE the owner's endpoint is told of nothing, not even about them
    for p in profile:
        p.permissions = [P.QUEUES_VIEW.value]
    await db.commit()
    await api.data(QUEUE, {"n": "Even later"}, token=admin_token)
    assert await sender.step() == (0, 0, 0)
    assert len(receiver.received) == 2
    assert Webhook(created["signingSecret"]).verify(*receiver.received[0][::-1])


@pytest.mark.transport
async def test_a_day_of_failures_turns_the_endpoint_off_and_mails_the_units_webhook_managers(
    app, admin_api, receiver, sender, db
) -> None:
    unit = await db.get(m.BusinessUnit, 1)
    manager = await f.user(
        db, unit, "hookkeeper", profiles=[await f.security_profile(db, unit, [P.WEBHOOKS_MANAGE])]
    )
    await f.user(db, unit, "bystander", profiles=[await f.security_profile(db, unit, [P.USERS_VIEW])])
    await db.commit()
    created = await create_endpoint(admin_api, receiver.url, ["QUEUE_CREATED"])
    receiver.answers = [500] * 100
    await admin_api.data(QUEUE, {"n": "Q1"})
    assert await sender.step() == (1, 0, 1)
    sender.clock.advance(hours=23, minutes=59)
    assert await sender.step() == (0, 0, 1)
    (endpoint,) = (await admin_api.data(LOG))["webhooks"]["nodes"]
    assert endpoint["active"] is True
    sender.clock.advance(minutes=2)
    assert await sender.step() == (0, 0, 1)
    state = await admin_api.data(UPDATE, {"i": {"id": endpoint["id"], "description": "still partner"}})
    off = state["webhookUpdate"]["webhook"]
    assert off["active"] is False and off["failingSince"] is not None
    assert (
        off["disabledReason"].startswith("Every delivery failed for 24 hours")
        and "HTTP 500" in off["disabledReason"]
    )
    mails = (await db.execute(select(m.OutboxMail).order_by(m.OutboxMail.to_address))).scalars().all()
    assert [(mail.to_address, mail.subject) for mail in mails] == [
        ("admin@localhost", "Webhook endpoint turned off"),
        (manager.email, "Webhook endpoint turned off"),
    ]
    assert receiver.url in mails[0].body and "webhookUpdate" in mails[0].body

    # off: nothing is tried, events still queue
    await admin_api.data(QUEUE, {"n": "Q2"})
    tried = len(receiver.received)
    sender.clock.advance(hours=2)
    assert await sender.step() == (0, 0, 0)
    assert len(receiver.received) == tried
    # on again, fixed: what waited is delivered
    receiver.answers = []
    on = (await admin_api.data(UPDATE, {"i": {"id": endpoint["id"], "active": True}}))["webhookUpdate"]
    assert on["webhook"]["active"] is True and on["webhook"]["disabledReason"] is None
    assert await sender.step() == (1, 2, 0)
    # a day on, the test's clock is ahead of the reference implementation's: the algorithm then
    secret = created["signingSecret"]
    assert all(h["webhook-signature"] == spec_signature(secret, h, b) for h, b in receiver.received[tried:])
    delivered = [json.loads(b)["data"] for _, b in receiver.received[tried:]]
    assert {name_of(d) for d in delivered} == {"Q1", "Q2"}


@pytest.mark.transport
async def test_the_signing_secret_is_shown_once_and_stored_encrypted(admin_api, receiver, sender, db) -> None:
    dry = (
        await admin_api.data(
            CREATE, {"i": {"url": receiver.url, "events": ["QUEUE_CREATED"], "validateOnly": True}}
        )
    )["webhookCreate"]
    assert dry["userErrors"] == [] and dry["signingSecret"] is None
    assert await db.scalar(select(func.count()).select_from(m.Webhook)) == 0

    created = await create_endpoint(admin_api, receiver.url, ["QUEUE_CREATED"])
    secret = created["signingSecret"]
    fields = await admin_api.data('{ __type(name: "Webhook") { fields { name } } }')
    assert not any("secret" in field["name"].lower() for field in fields["__type"]["fields"])
    await db.rollback()  # a fresh read
    row = (await db.execute(select(m.Webhook))).scalar_one()
    assert secret not in row.secret_sealed and secret.removeprefix("whsec_") not in row.secret_sealed

    rotated = (await admin_api.data(ROTATE, {"i": {"id": created["webhook"]["id"]}}))["webhookSecretRotate"]
    assert rotated["userErrors"] == [] and rotated["signingSecret"] not in (None, secret)
    await admin_api.data(QUEUE, {"n": "After rotation"})
    await sender.step()
    ((headers, body),) = receiver.received
    Webhook(rotated["signingSecret"]).verify(body, headers)
    with pytest.raises(Exception, match="signature"):
        Webhook(secret).verify(body, headers)


@pytest.mark.transport
async def test_someone_elses_endpoint_needs_every_permission_its_owner_holds(
    app, api, admin, receiver, db
) -> None:
    admin_token = await api.login("admin", ADMIN_PASSWORD)
    created = await create_endpoint(api, receiver.url, ["USER_CREATED"], token=admin_token)
    webhook_id = created["webhook"]["id"]
    _, keeper = await signed_in(app, api, db, "keeper", [P.WEBHOOKS_MANAGE])
    _, nobody = await signed_in(app, api, db, "nobody", [P.USERS_VIEW])
    moved = await api.data(UPDATE, {"i": {"id": webhook_id, "url": "http://127.0.0.1:1/mine"}}, token=keeper)
    assert [(e["field"], e["code"]) for e in moved["webhookUpdate"]["userErrors"]] == [
        (["id"], "TARGET_OUTRANKS_ACTOR")
    ]
    gone = await api.data(
        "mutation($i: WebhookRefInput!) { webhookDelete(input: $i) { deletedId userErrors { field code } } }",
        {"i": {"id": webhook_id}},
        token=keeper,
    )
    assert gone["webhookDelete"]["userErrors"] == [{"field": ["id"], "code": "TARGET_OUTRANKS_ACTOR"}]
    listed = await api.post(LOG, token=nobody)
    assert listed["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    refused = await api.post(CREATE, {"i": {"url": receiver.url, "events": ["USER_CREATED"]}}, token=nobody)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    own = await create_endpoint(api, receiver.url, ["USER_CREATED"], token=keeper)
    deleted = await api.data(
        "mutation($i: WebhookRefInput!) { webhookDelete(input: $i) { deletedId userErrors { code } } }",
        {"i": {"id": own["webhook"]["id"]}},
        token=keeper,
    )
    assert deleted["webhookDelete"] == {"deletedId": own["webhook"]["id"], "userErrors": []}


@pytest.mark.transport
async def test_the_readmes_receiver_verifies_a_real_delivery_and_handles_it_once(
    admin_api, receiver, sender
) -> None:
    code = README.split("### Webhooks", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    created = await create_endpoint(admin_api, receiver.url, ["QUEUE_CREATED"])
    await admin_api.data(QUEUE, {"n": "Readme"})
    await sender.step()
    ((headers, body),) = receiver.received
    example: dict[str, Any] = {"__name__": "receiver"}  # not "__main__": no server started
    exec(code.replace('"whsec_..."', repr(created["signingSecret"])), example)
    assert example["receive"](body, headers) == 204
    assert example["receive"](body, headers) == 204  # a duplicate: answered, not handled again
    assert example["handled"] == {headers["webhook-id"]}
    assert example["receive"](body.replace(b"Readme", b"Tampered"), headers) == 400


@pytest.mark.transport
async def test_the_app_runs_a_sender_in_its_lifespan(settings, admin, receiver) -> None:
    served = create_app(settings.with_(webhooks_poll_seconds=0.05))
    async with (
        served.router.lifespan_context(served),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=served), base_url="http://test") as client,
    ):
        api = Api(client)
        api.token = await api.login("admin", ADMIN_PASSWORD)
        await create_endpoint(api, receiver.url, ["QUEUE_CREATED"])
        await api.data(QUEUE, {"n": "On its own"})
        for _ in range(200):  # up to 10 s; a few polls in practice
            if receiver.received:
                break
            await asyncio.sleep(0.05)
        assert [name_of(b["data"]) for b in receiver.bodies()] == ["On its own"]


async def test_deliveries_delivered_a_month_ago_leave_the_log(admin_api, receiver, sender, db) -> None:
    await create_endpoint(admin_api, receiver.url, ["QUEUE_CREATED"])
    receiver.answers = [500]
    for name in ("Old", "Stuck"):
        await admin_api.data(QUEUE, {"n": name})
    assert await sender.step() == (2, 1, 1)  # the first one answered gets the 500
    sender.clock.advance(days=31)
    receiver.stop()  # the failing one keeps failing: it must stay
    assert await sender.prune() == 1
    (left,) = (await admin_api.data(LOG))["webhooks"]["nodes"][0]["deliveries"]["nodes"]
    assert left["status"] == "FAILING"
    assert await sender.prune() == 0
