"""Webhooks for partners, as the Standard Webhooks specification has them (standardwebhooks.com):
an endpoint is told, by a signed HTTP POST, of each change of the chosen types that its owner may
see. Nothing is lost: the audit trail is the event log (`services.events`); a sender fans each
endpoint's new events out into a durable outbox of deliveries (advancing the endpoint's cursor in
the same transaction), then delivers them with a lease and exponential backoff as mail is
delivered (`services.outbox`), at least once, each with a stable `webhook-id` for deduplication.
An endpoint whose deliveries have failed for 24 hours without a success is turned off and the
administrators of its unit are mailed.

Who sees what: an endpoint is a standing delegation of its owner (the user who created it). At
each fan-out its events are filtered by `events.may_see` with the owner's permissions as they are
then; an owner who is disabled or no longer holds WEBHOOKS_MANAGE is told of nothing, and a
deleted owner's endpoints go with them. Changing or deleting someone else's endpoint needs every
permission its owner holds (authority's rule for acting on a user): otherwise a manager could
point an administrator's stream at a URL of their own.

SSRF: a URL is http(s) only, and every address its host resolves to must be public (not
loopback, private, link-local, shared, reserved, multicast or unspecified) unless
CCGRAPH_WEBHOOKS_ALLOW_PRIVATE is set. It is checked when the URL is given and again before
every delivery, which connects to the very address it checked (DNS may have changed since, or
be made to answer differently the second time), never follows a redirect and ignores proxy
settings.
"""

from __future__ import annotations

import asyncio
import base64
import enum
import ipaddress
import json
import logging
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Select, select
from sqlalchemy import delete as delete_rows
from sqlalchemy import update as update_rows
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks import Webhook

from ccgraph.auth.principal import Principal
from ccgraph.auth.secret_box import SecretBox
from ccgraph.config import Settings
from ccgraph.db import models as m
from ccgraph.db.base import utcnow
from ccgraph.db.engine import begin_write
from ccgraph.enums import Permission
from ccgraph.services import audit, authority, events, mail, outbox
from ccgraph.services.errors import UserError
from ccgraph.services.pagination import Ordering
from ccgraph.services.scope import can_see, visible
from ccgraph.services.writes import Actor, Outcome, Rejected, run_write

log = logging.getLogger("ccgraph.webhooks")

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # the specification asks for 24 to 64
URL_LENGTH = 2000
DESCRIPTION_LENGTH = 500
DISABLE_AFTER = timedelta(hours=24)
# Delivered deliveries are kept this long in the log, then deleted (checked every PRUNE_EVERY).
KEPT_DELIVERED = timedelta(days=30)
PRUNE_EVERY = timedelta(hours=1)
FAN_OUT_BATCH = 500
KEEP: Any = object()  # an update's field left out


class WebhookDeliveryStatus(enum.StrEnum):
    PENDING = "PENDING"  # waiting for its first try
    FAILING = "FAILING"  # a try failed; tried again after a backoff while the endpoint is on
    DELIVERED = "DELIVERED"  # the endpoint answered 2xx

    @property
    def description(self) -> str:
        return {
            WebhookDeliveryStatus.PENDING: "Not tried yet.",
            WebhookDeliveryStatus.FAILING: "The last try failed; tried again after a backoff (5 s, doubling "
            "up to 1 h) while the endpoint is active.",
            WebhookDeliveryStatus.DELIVERED: "The endpoint answered with a 2xx status.",
        }[self]


@dataclass(frozen=True, slots=True)
class WebhookTerms:
    """What an endpoint is told of and where. On an update, a field left out (`KEEP`) is kept."""

    url: Any = KEEP
    event_types: Any = KEEP  # EventType values
    description: Any = KEEP
    active: Any = KEEP


@dataclass(frozen=True, slots=True)
class NewSecret:
    endpoint: m.Webhook
    secret: str  # shown once


def new_secret() -> str:
    """`whsec_` and the base64 of 32 random bytes, as the specification writes secrets."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def message_id(delivery: m.WebhookDelivery) -> str:
    """The message id (`webhook-id`): the same on every retry, and the same for one event about one
    object whichever endpoint receives it, so a receiver deduplicates on it. It names the event's
    id, the cursor of the `events` feed."""
    return f"evt_{delivery.event_id}_{delivery.subject_id}"


# -- where a delivery may go (SSRF) -----------------------------------------------------------


class UrlRefused(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address, private_ok: bool) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1 is 127.0.0.1
    if mapped is not None:
        address = mapped
    if address.is_unspecified or address.is_multicast:
        return False
    return private_ok or address.is_global


def _parts(url: str) -> tuple[str, str, int]:
    """The scheme, host and port of a URL a delivery may be posted to, or UrlRefused."""
    if not url or len(url) > URL_LENGTH:
        raise UrlRefused("INVALID", f"Give an http(s) URL of at most {URL_LENGTH} characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UrlRefused("INVALID", "This is not a URL.") from None
    if parts.scheme not in ("http", "https"):
        raise UrlRefused("URL_NOT_ALLOWED", "Only http and https URLs can receive webhooks.")
    if not parts.hostname:
        raise UrlRefused("INVALID", "The URL names no host.")
    if parts.username is not None or parts.password is not None:
        raise UrlRefused("INVALID", "Put no credentials in the URL: verify the signature instead.")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def resolve(url: str, settings: Settings) -> list[str]:
    """The addresses a delivery to `url` may connect to, once checked: every address its host
    resolves to must be allowed (one private address among public ones refuses the URL, as DNS
    answers may rotate). UrlRefused otherwise."""
    _, host, port = _parts(url)
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UrlRefused("URL_NOT_ALLOWED", f"The host {host} does not resolve.") from None
    addresses = list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in found))
    for address in addresses:
        if not _allowed(ipaddress.ip_address(address), settings.webhooks_allow_private):
            raise UrlRefused(
                "URL_NOT_ALLOWED",
                f"The host {host} is at {address}, a loopback, private, link-local, multicast or "
                "unspecified address: webhooks go to public addresses only.",
            )
    if not addresses:
        raise UrlRefused("URL_NOT_ALLOWED", f"The host {host} does not resolve.")
    return addresses


async def url_problem(url: str, settings: Settings, field: list[str]) -> UserError | None:
    try:
        await resolve(url, settings)
    except UrlRefused as refused:
        return UserError(field, refused.code, str(refused))
    return None


# -- managing endpoints -----------------------------------------------------------------------


def _checked(terms: WebhookTerms, url_error: UserError | None) -> dict[str, Any]:
    """The terms as columns, or every problem with them, each naming its field."""
    errors = [url_error] if url_error is not None else []
    values: dict[str, Any] = {}
    if terms.url is not KEEP:
        values["url"] = terms.url
    if terms.event_types is not KEEP:
        kinds = sorted({events.EventType(t).value for t in terms.event_types})
        if not kinds:
            errors.append(UserError(["events"], "REQUIRED", "Choose at least one event type."))
        values["event_types"] = kinds
    if terms.description is not KEEP:
        description = (terms.description or "").strip()
        if len(description) > DESCRIPTION_LENGTH:
            errors.append(UserError(["description"], "INVALID", f"At most {DESCRIPTION_LENGTH} characters."))
        values["description"] = description
    if terms.active is not KEEP:
        values["active"] = bool(terms.active)
    if errors:
        raise Rejected(errors)
    return values


async def _end_of_log(session: AsyncSession) -> int:
    """The id of the log's head: a new webhook is told of what commits from now on."""
    head = await events.log_head(session)
    return head[1] if head is not None else 0


def _audited(values: dict[str, Any]) -> dict[str, Any]:
    names = {"url": "url", "event_types": "events", "description": "description", "active": "active"}
    return {names[k]: v for k, v in values.items()}


async def create(
    session: AsyncSession,
    settings: Settings,
    box: SecretBox,
    actor: Actor,
    terms: WebhookTerms,
    *,
    validate_only: bool = False,
) -> Outcome[NewSecret]:
    """A new endpoint owned by the actor, in their unit, told of events from now on; its signing
    secret is in the outcome and never again."""
    url_error = await url_problem(terms.url, settings, ["url"])  # DNS, before the transaction

    async def work() -> NewSecret:
        values = _checked(terms, url_error)
        values.setdefault("description", "")
        secret = new_secret()
        endpoint = m.Webhook(
            business_unit_id=actor.principal.business_unit_id,
            owner_user_id=actor.principal.user_id,
            secret_sealed=box.seal(secret),
            active=True,
            cursor=await _end_of_log(session),
            **values,
        )
        session.add(endpoint)
        await session.flush()
        audit.record(
            session,
            actor,
            "webhook.create",
            endpoint,
            business_unit_id=endpoint.business_unit_id,
            changes=audit.given(_audited(values)),
            label=endpoint.url[:200],
        )
        return NewSecret(endpoint, secret)

    return await run_write(session, work, validate_only=validate_only)


async def _managed(session: AsyncSession, actor: Actor, webhook_id: int) -> m.Webhook:
    """The endpoint, when the actor sees its unit and holds every permission its owner holds."""
    endpoint = await session.get(m.Webhook, webhook_id, populate_existing=True)
    if endpoint is None or not can_see(actor.principal, endpoint.business_unit_id):
        raise Rejected([UserError(["id"], "NOT_FOUND", "No webhook endpoint with this ID.")])
    owner = endpoint.owner_user_id
    problem = authority.outranked(actor, owner, (await authority.held_by(session, [owner]))[owner], ["id"])
    if problem is not None:
        raise Rejected([problem])
    return endpoint


async def update(
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    webhook_id: int,
    terms: WebhookTerms,
    *,
    validate_only: bool = False,
) -> Outcome[m.Webhook]:
    """Change the URL, event types or description, or turn the endpoint off or on. Turned on
    again, it starts afresh: its failures are forgotten and what waited is delivered."""
    url_error = None if terms.url is KEEP else await url_problem(terms.url, settings, ["url"])

    async def work() -> m.Webhook:
        endpoint = await _managed(session, actor, webhook_id)
        values = _checked(terms, url_error)
        before = {k: getattr(endpoint, k) for k in values}
        for column, value in values.items():
            setattr(endpoint, column, value)
        if values.get("active") is True:
            endpoint.disabled_reason = None
            endpoint.failing_since = None
        elif values.get("active") is False and before.get("active"):
            endpoint.disabled_reason = f"Turned off by {actor.principal.username}."
        changes = audit.diff(_audited(before), _audited(values))
        if changes:
            audit.record(
                session,
                actor,
                "webhook.update",
                endpoint,
                business_unit_id=endpoint.business_unit_id,
                changes=changes,
                label=endpoint.url[:200],
            )
        return endpoint

    return await run_write(session, work, validate_only=validate_only)


async def rotate_secret(
    session: AsyncSession, box: SecretBox, actor: Actor, webhook_id: int, *, validate_only: bool = False
) -> Outcome[NewSecret]:
    """A new signing secret, used from the next delivery on (the old one no longer verifies)."""

    async def work() -> NewSecret:
        endpoint = await _managed(session, actor, webhook_id)
        secret = new_secret()
        endpoint.secret_sealed = box.seal(secret)
        endpoint.updated_at = utcnow()
        audit.record(
            session,
            actor,
            "webhook.secretRotate",
            endpoint,
            business_unit_id=endpoint.business_unit_id,
            label=endpoint.url[:200],
        )
        return NewSecret(endpoint, secret)

    return await run_write(session, work, validate_only=validate_only)


async def delete(
    session: AsyncSession, actor: Actor, webhook_id: int, *, validate_only: bool = False
) -> Outcome[int]:
    """The endpoint and its deliveries, delivered or not."""

    async def work() -> int:
        endpoint = await _managed(session, actor, webhook_id)
        audit.record(
            session,
            actor,
            "webhook.delete",
            endpoint,
            business_unit_id=endpoint.business_unit_id,
            changes={"url": {"before": endpoint.url, "after": None}},
            label=endpoint.url[:200],
        )
        await session.delete(endpoint)
        return webhook_id

    return await run_write(session, work, validate_only=validate_only)


# An endpoint's delivery log: newest first.
DELIVERY_LOG = Ordering((m.WebhookDelivery.id,), descending=True)
WEBHOOK_ORDER = Ordering((m.Webhook.id,))


def endpoints_query(principal: Principal) -> Select[Any]:
    """The endpoints of the units the principal sees."""
    return select(m.Webhook).where(visible(principal, m.Webhook.business_unit_id))


# -- the sender: fan-out and delivery ---------------------------------------------------------

Render = Callable[[events.Event], dict[str, Any]]
Clock = Callable[[], datetime]


async def owner_principal(session: AsyncSession, user_id: int) -> Principal | None:
    """What an endpoint sees: its owner's permissions now; nothing when the owner is disabled or
    no longer holds WEBHOOKS_MANAGE. (A reset password does not stop a standing delegation.)"""
    user = await session.get(m.User, user_id)
    if user is None or not user.enabled:
        return None
    held = (await authority.held_by(session, [user_id]))[user_id]
    if Permission.WEBHOOKS_MANAGE not in held:
        return None
    return Principal(
        user.id, user.username, user.business_unit_id, held, is_master_admin=user.is_master_admin
    )


def _insert_ignoring_duplicates(session: AsyncSession) -> Any:
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    return insert(m.WebhookDelivery).on_conflict_do_nothing(
        index_elements=["webhook_id", "event_id", "subject_id"]
    )


async def administrators(session: AsyncSession, unit_id: int) -> list[str]:
    """The addresses of the unit's enabled users who hold WEBHOOKS_MANAGE: those who can fix an
    endpoint (its owner among them, while they may)."""
    profiles = (
        await session.execute(
            select(m.SecurityProfile.id, m.SecurityProfile.permissions).where(
                m.SecurityProfile.business_unit_id == unit_id
            )
        )
    ).all()
    granting = [pid for pid, held in profiles if Permission.WEBHOOKS_MANAGE.value in (held or [])]
    link = m.user_security_profiles
    found = await session.execute(
        select(m.User.email)
        .join(link, link.c.user_id == m.User.id)
        .where(m.User.business_unit_id == unit_id, m.User.enabled, link.c.security_profile_id.in_(granting))
        .distinct()
        .order_by(m.User.email)
    )
    return [e for e in found.scalars() if e]


def _disabled_mail(endpoint: m.Webhook, error: str | None) -> tuple[str, str]:
    since = endpoint.failing_since.isoformat(timespec="minutes") if endpoint.failing_since else "?"
    body = (
        f"The webhook endpoint {endpoint.url}\n"
        f"({endpoint.description or 'no description'}) has been turned off: every delivery to it "
        f"has failed since {since} (UTC).\n\n"
        f"The last failure: {error or 'unknown'}.\n\n"
        "Nothing is lost: its deliveries wait. Fix the receiver, then turn the endpoint on again "
        "with the webhookUpdate mutation (active: true); what waited is delivered then.\n"
    )
    return "Webhook endpoint turned off", body


@dataclass(frozen=True, slots=True)
class Attempt:
    code: int | None  # the HTTP status, when the endpoint answered
    error: str | None  # None: delivered


class WebhookSender:
    """Fans events out into deliveries and delivers them, a pass at a time (`step`), or forever
    (`run`, in the app's lifespan). Several senders (one per worker) may run: fan-out locks each
    endpoint's row and deliveries are leased. `clock` gives the time (tests move it on)."""

    def __init__(
        self,
        settings: Settings,
        sessions: Callable[[], AsyncSession],
        box: SecretBox,
        render: Render,
        clock: Clock = utcnow,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.box = box
        self.render = render
        self.clock = clock
        self._pruned: datetime | None = None

    # fan-out

    async def fan_out(self, batch: int = FAN_OUT_BATCH) -> int:
        """One pass over the active endpoints: the events after each one's cursor become
        deliveries. Returns how many deliveries were made."""
        async with self.sessions() as session:
            ids = list(
                (await session.execute(select(m.Webhook.id, m.Webhook.cursor).where(m.Webhook.active))).all()
            )
            # read-only look first: a pass with nothing new takes no write lock (SQLite)
            behind = [pk for pk, cursor in ids if await events.committed_after(session, cursor, 1)]
        made = 0
        for webhook_id in behind:
            while True:
                count, more = await self._fan_out_one(webhook_id, batch)
                made += count
                if not more:
                    break
        return made

    async def _fan_out_one(self, webhook_id: int, batch: int) -> tuple[int, bool]:
        async with self.sessions() as session:
            await begin_write(session)
            endpoint = (
                await session.execute(
                    select(m.Webhook).where(m.Webhook.id == webhook_id, m.Webhook.active).with_for_update()
                )
            ).scalar()
            if endpoint is None:
                await session.rollback()
                return 0, False
            rows = await events.committed_after(session, endpoint.cursor, batch)
            if not rows:
                await session.rollback()
                return 0, False
            principal = await owner_principal(session, endpoint.owner_user_id)
            wanted = set(endpoint.event_types)
            now = self.clock()
            values = [
                {
                    "webhook_id": endpoint.id,
                    "event_id": event.id,
                    "subject_id": event.subject_id or 0,
                    "event_type": event.type.value,
                    "payload": self.render(event),
                    "status": WebhookDeliveryStatus.PENDING.value,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for row in rows
                for event in events.events_of(row)
                if event.type.value in wanted and events.may_see(principal, event)
            ]
            if values:
                await session.execute(_insert_ignoring_duplicates(session), values)
            endpoint.cursor = rows[-1].id
            await session.commit()
            return len(values), len(rows) == batch

    # delivery

    async def deliver_due(self, batch: int = 20) -> tuple[int, int]:
        """One pass: try every due delivery of an active endpoint, at once. (delivered, failed)."""
        now = self.clock()
        due = (
            m.WebhookDelivery.delivered_at.is_(None),
            m.WebhookDelivery.webhook_id.in_(select(m.Webhook.id).where(m.Webhook.active)),
        )
        async with self.sessions() as session:
            waiting = select(m.WebhookDelivery.id).where(m.WebhookDelivery.next_attempt_at <= now, *due)
            if (await session.execute(waiting.limit(1))).scalar() is None:
                return 0, 0  # nothing due: no write transaction (SQLite's one writer)
            claimed = await outbox.claim(session, m.WebhookDelivery, *due, batch=batch, now=now)
            targets = {
                e.id: e
                for e in (
                    await session.execute(
                        select(m.Webhook).where(m.Webhook.id.in_({d.webhook_id for d in claimed}))
                    )
                ).scalars()
            }
        claimed = [d for d in claimed if d.webhook_id in targets]  # a webhook deleted meanwhile: gone
        results = await asyncio.gather(*(self._attempt(d, targets[d.webhook_id]) for d in claimed))
        for delivery, attempt in zip(claimed, results, strict=True):
            await self._settle(delivery, attempt)
        delivered = sum(1 for a in results if a.error is None)
        return delivered, len(results) - delivered

    def signed(self, delivery: m.WebhookDelivery, endpoint: m.Webhook) -> tuple[bytes, dict[str, str]]:
        """The body and the Standard Webhooks headers of one try."""
        body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False)
        secret = self.box.open(endpoint.secret_sealed)
        if secret is None:
            raise ValueError("the signing secret cannot be read (was CCGRAPH_SECRET_KEY changed?)")
        identity = message_id(delivery)
        moment = self.clock()
        return body.encode(), {
            "content-type": "application/json",
            "user-agent": "ccgraph-webhooks",
            "webhook-id": identity,
            "webhook-timestamp": str(int(moment.timestamp())),
            "webhook-signature": Webhook(secret).sign(identity, moment, body),
        }

    async def _attempt(self, delivery: m.WebhookDelivery, endpoint: m.Webhook) -> Attempt:
        try:
            addresses = await resolve(endpoint.url, self.settings)
            body, headers = self.signed(delivery, endpoint)
            status = await _post(
                endpoint.url, addresses[0], body, headers, self.settings.webhooks_timeout_seconds
            )
        except UrlRefused as refused:
            return Attempt(None, f"refused: {refused}")
        except (httpx.HTTPError, OSError, ValueError) as exc:
            return Attempt(None, f"{exc.__class__.__name__}: {exc}"[:500])
        if 200 <= status < 300:
            return Attempt(status, None)
        return Attempt(status, f"HTTP {status}")

    async def _settle(self, delivery: m.WebhookDelivery, attempt: Attempt) -> None:
        now = self.clock()
        d = m.WebhookDelivery
        async with self.sessions() as session:
            await begin_write(session)
            tried = {"last_attempt_at": now, "last_response_code": attempt.code, "last_error": attempt.error}
            if attempt.error is None:
                await session.execute(
                    update_rows(d)
                    .where(d.id == delivery.id)
                    .values(status=WebhookDeliveryStatus.DELIVERED.value, delivered_at=now, **tried)
                )
                await session.execute(
                    update_rows(m.Webhook)
                    .where(m.Webhook.id == delivery.webhook_id)
                    .values(failing_since=None)
                )
                log.info("webhook %s delivered to endpoint %s", message_id(delivery), delivery.webhook_id)
            else:
                log.warning(
                    "webhook %s to endpoint %s failed (attempt %s): %s",
                    message_id(delivery),
                    delivery.webhook_id,
                    delivery.attempts,
                    attempt.error,
                )
                await session.execute(
                    update_rows(d)
                    .where(d.id == delivery.id)
                    .values(
                        status=WebhookDeliveryStatus.FAILING.value,
                        next_attempt_at=now + outbox.backoff(delivery.attempts),
                        **tried,
                    )
                )
                await self._failed(session, delivery.webhook_id, now, attempt.error)
            await session.commit()

    async def _failed(self, session: AsyncSession, webhook_id: int, now: datetime, error: str) -> None:
        """Note when the endpoint started failing; after DISABLE_AFTER without a success, turn
        it off and mail the administrators of its unit, in this transaction."""
        endpoint = (
            await session.execute(select(m.Webhook).where(m.Webhook.id == webhook_id).with_for_update())
        ).scalar()
        if endpoint is None or not endpoint.active:
            return
        if endpoint.failing_since is None:
            endpoint.failing_since = now
            return
        if now - endpoint.failing_since < DISABLE_AFTER:
            return
        endpoint.active = False
        endpoint.disabled_reason = (
            f"Every delivery failed for {DISABLE_AFTER.total_seconds() / 3600:.0f} hours "
            f"(since {endpoint.failing_since.isoformat(timespec='minutes')}); the last: {error}"
        )[:500]
        subject, body = _disabled_mail(endpoint, error)
        recipients = await administrators(session, endpoint.business_unit_id)
        await mail.enqueue_many(session, [(to, subject, body) for to in recipients])
        log.warning(
            "webhook endpoint %s turned off: deliveries failed since %s", endpoint.id, endpoint.failing_since
        )

    async def prune(self) -> int:
        """Delete deliveries delivered more than KEPT_DELIVERED ago: the log shows the recent
        past, and the table does not grow for ever. What is not delivered stays."""
        d = m.WebhookDelivery
        async with self.sessions() as session:
            old = d.delivered_at < self.clock() - KEPT_DELIVERED
            if (await session.execute(select(d.id).where(old).limit(1))).scalar() is None:
                return 0
            await begin_write(session)
            deleted = await session.execute(delete_rows(d).where(old))
            gone = cast(CursorResult[Any], deleted).rowcount or 0  # a DELETE's result is a cursor's
            await session.commit()
        log.info("%d webhook deliveries older than %s deleted", gone, KEPT_DELIVERED)
        return gone

    async def step(self) -> tuple[int, int, int]:
        """Fan out, then deliver what is due: (deliveries made, delivered, failed); and, at most
        every PRUNE_EVERY, delete the deliveries delivered long ago."""
        made = await self.fan_out()
        delivered, failed = await self.deliver_due()
        if self._pruned is None or self.clock() - self._pruned >= PRUNE_EVERY:
            self._pruned = self.clock()
            await self.prune()
        return made, delivered, failed

    async def run(self) -> None:
        """Step forever, every `webhooks_poll_seconds`."""
        while True:
            await asyncio.sleep(self.settings.webhooks_poll_seconds)
            try:
                await self.step()
            except Exception:  # a database hiccup must not stop delivery for good
                log.exception("webhook pass failed")


async def _post(url: str, address: str, body: bytes, headers: dict[str, str], seconds: float) -> int:
    """POST to the checked `address` (not a second DNS answer), with the URL's host as Host and,
    over TLS, as the name the certificate must carry. The answer's body is not read."""
    target = httpx.URL(url)
    pinned = target.copy_with(host=address)
    host = target.host if target.port is None else f"{target.host}:{target.port}"
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    async with (
        httpx.AsyncClient(timeout=seconds, follow_redirects=False, trust_env=False) as client,
        client.stream(
            "POST", pinned, content=body, headers={**headers, "host": host}, extensions=extensions
        ) as response,
    ):
        return response.status_code
