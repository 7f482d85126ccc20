"""Mail that is never lost: it is written to the outbox in the transaction of the change that
sends it, and a sender delivers it over SMTP with retries and backoff. Several senders (one
per worker) can run at once: each claims due mail with a lease (FOR UPDATE SKIP LOCKED where
the database has it), so one mail is not sent twice by two of them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from email.message import EmailMessage

import aiosmtplib
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ccgraph.config import Settings
from ccgraph.db.base import utcnow
from ccgraph.db.engine import begin_write
from ccgraph.db.models import OutboxMail, User
from ccgraph.services import outbox
from ccgraph.services.outbox import backoff

log = logging.getLogger("ccgraph.mail")
Mail = tuple[str, str, str]  # (to address, subject, body)


def enqueue(session: AsyncSession, to_address: str, subject: str, body: str) -> OutboxMail:
    """Queue a mail in the caller's transaction: it is sent only if that transaction commits.
    The log names the recipient and subject, never the body."""
    mail = OutboxMail(to_address=to_address, subject=subject, body=body)
    session.add(mail)
    log.info("mail queued for %s: %s", to_address, subject)
    return mail


async def enqueue_many(session: AsyncSession, mails: Sequence[Mail]) -> None:
    """Queue many mails in the caller's transaction with one INSERT (a bulk create's)."""
    if not mails:
        return
    await session.execute(
        insert(OutboxMail), [{"to_address": t, "subject": s, "body": b} for t, s, b in mails]
    )
    log.info("%d mails queued: %s", len(mails), ", ".join(sorted({s for _, s, _ in mails})))


def password_mail(user: User, password: str, *, new_account: bool) -> Mail:
    """The mail that carries a generated password (NICE: under a "generate random passwords"
    profile "the user receives an email containing a new random password"), for a new
    account or a reset. The password stands alone on an indented line."""
    if new_account:
        subject = "Your new account"
        opening = f"An account was created for you. Your username is {user.username} and your password is:"
        closing = "You will be asked to change it when you first sign in."
    else:
        subject = "Your new password"
        opening = "Your password was reset. Your new password is:"
        closing = "You will be asked to change it when you next sign in."
    return user.email, subject, f"Hello {user.first_name},\n\n{opening}\n\n    {password}\n\n{closing}\n"


async def backlog(session: AsyncSession, max_attempts: int) -> tuple[int, int, float]:
    """The mail not sent: how many wait to be tried, how many were given up after
    `max_attempts`, and the age in seconds of the oldest that waits (0 when none does)."""
    unsent = OutboxMail.sent_at.is_(None)
    waiting, oldest = (
        await session.execute(
            select(func.count(), func.min(OutboxMail.created_at)).where(
                unsent, OutboxMail.attempts < max_attempts
            )
        )
    ).one()
    given_up = await session.scalar(select(func.count()).where(unsent, OutboxMail.attempts >= max_attempts))
    age = (utcnow() - oldest).total_seconds() if oldest is not None else 0.0
    return waiting, given_up or 0, age


class MailSender:
    def __init__(self, settings: Settings, sessions: Callable[[], AsyncSession]) -> None:
        self.settings = settings
        self.sessions = sessions

    @property
    def configured(self) -> bool:
        return bool(self.settings.smtp_host)

    async def _claim(self, batch: int) -> list[OutboxMail]:
        async with self.sessions() as session:
            return await outbox.claim(
                session,
                OutboxMail,
                OutboxMail.sent_at.is_(None),
                OutboxMail.attempts < self.settings.mail_max_attempts,
                batch=batch,
                now=utcnow(),
            )

    async def _send(self, mail: OutboxMail) -> None:
        s = self.settings
        message = EmailMessage()
        message["From"] = s.mail_from
        message["To"] = mail.to_address
        message["Subject"] = mail.subject
        message.set_content(mail.body)
        await aiosmtplib.send(
            message,
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username or None,
            password=s.smtp_password or None,
            start_tls=s.smtp_starttls,
            use_tls=s.smtp_tls,
            timeout=s.smtp_timeout_seconds,
        )

    async def _settle(self, mail_id: int, error: str | None, attempts: int) -> None:
        async with self.sessions() as session:
            await begin_write(session)
            now = utcnow()
            values = (
                {"sent_at": now, "body": "", "last_error": None}
                if error is None
                else {"next_attempt_at": now + backoff(attempts), "last_error": error[:500]}
            )
            await session.execute(update(OutboxMail).where(OutboxMail.id == mail_id).values(**values))
            await session.commit()

    async def deliver_due(self, batch: int = 20) -> tuple[int, int]:
        """One pass: send what is due. Returns (sent, failed)."""
        if not self.configured:
            return 0, 0
        sent = failed = 0
        for mail in await self._claim(batch):
            try:
                await self._send(mail)
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                failed += 1
                log.warning(
                    "mail %s to %s not sent (attempt %s): %s",
                    mail.id,
                    mail.to_address,
                    mail.attempts,
                    exc.__class__.__name__,
                )
                await self._settle(mail.id, f"{exc.__class__.__name__}: {exc}", mail.attempts)
            else:
                sent += 1
                log.info("mail %s sent to %s", mail.id, mail.to_address)
                await self._settle(mail.id, None, mail.attempts)
        return sent, failed

    async def run(self) -> None:
        """Deliver forever, every `mail_poll_seconds`; what fails waits for its backoff."""
        if not self.configured:
            log.warning("no SMTP host configured (CCGRAPH_SMTP_HOST): mail stays in the outbox")
            return
        while True:
            try:
                await self.deliver_due()
            except Exception:  # a database hiccup must not stop delivery for good
                log.exception("mail delivery pass failed")
            await asyncio.sleep(self.settings.mail_poll_seconds)
