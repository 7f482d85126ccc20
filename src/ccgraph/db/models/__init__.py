"""Every model, imported here so that the metadata is complete for Alembic and the services."""

from ccgraph.db.models.audit import AuditEvent
from ccgraph.db.models.business_units import BusinessUnit
from ccgraph.db.models.credentials import AccessKey, Session
from ccgraph.db.models.idempotency import IdempotencyKey
from ccgraph.db.models.login_attempts import LoginAttempt
from ccgraph.db.models.mail import OutboxMail
from ccgraph.db.models.persisted_queries import PersistedQuery
from ccgraph.db.models.routing import PresenceStatus, Queue, WorkStream
from ccgraph.db.models.security_profiles import SecurityProfile, user_security_profiles
from ccgraph.db.models.skills import Skill, UserSkill
from ccgraph.db.models.teams import Team
from ccgraph.db.models.user_profiles import (
    UserProfile,
    user_profile_queues,
    user_profile_work_streams,
)
from ccgraph.db.models.users import User, user_queues, user_work_streams
from ccgraph.db.models.webhooks import Webhook, WebhookDelivery

__all__ = [
    "AccessKey",
    "AuditEvent",
    "BusinessUnit",
    "IdempotencyKey",
    "LoginAttempt",
    "OutboxMail",
    "PersistedQuery",
    "PresenceStatus",
    "Queue",
    "SecurityProfile",
    "Session",
    "Skill",
    "Team",
    "User",
    "UserProfile",
    "UserSkill",
    "WebhookDelivery",
    "Webhook",
    "WorkStream",
    "user_profile_queues",
    "user_profile_work_streams",
    "user_queues",
    "user_security_profiles",
    "user_work_streams",
]
