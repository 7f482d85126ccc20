"""The floor: the hot-path page fetched with hand-written SQLAlchemy Core and encoded to the
same JSON as ccgraph's answer, without GraphQL. Served by uvicorn like ccgraph. Reads the
bearer token like ccgraph does (one statement), so both do the same work a request needs; and
it runs as ccgraph's served process does, so that only the work differs: the same JSON
encoder (orjson) and the same garbage-collector settings (`ccgraph.app.tune_collector`)."""

from __future__ import annotations

import hashlib
import os
from collections import defaultdict

import orjson
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from strawberry.relay import to_base64

from ccgraph.app import tune_collector
from ccgraph.config import Settings
from ccgraph.db import models as m
from ccgraph.db.engine import create_engine

engine = create_engine(Settings.from_env())
SKILLS_PER_USER = 20


def gid(kind: str, pk: int) -> str:
    return to_base64(kind, pk)


async def page(request: Request) -> Response:
    n = int(request.query_params.get("n", "100"))
    token = request.headers.get("authorization", "").partition(" ")[2]
    async with engine.connect() as conn:
        who = (
            await conn.execute(
                select(m.Session.user_id).where(
                    m.Session.token_hash == hashlib.sha256(token.encode()).hexdigest()
                )
            )
        ).first()
        if who is None:
            return Response(status_code=401)
        users = (
            await conn.execute(select(m.User.__table__).order_by(m.User.username, m.User.id).limit(n))
        ).all()
        ids = [u.id for u in users]
        teams = dict(
            (
                await conn.execute(
                    select(m.Team.id, m.Team.name).where(
                        m.Team.id.in_({u.team_id for u in users if u.team_id})
                    )
                )
            ).all()
        )
        profiles = {
            p.id: p
            for p in (
                await conn.execute(
                    select(m.UserProfile.__table__).where(
                        m.UserProfile.id.in_({u.user_profile_id for u in users if u.user_profile_id})
                    )
                )
            ).all()
        }

        async def linked(table, owner, target, model, owners):
            rows = await conn.execute(
                select(table.c[owner], model.id, model.name)
                .join(model, model.id == table.c[target])
                .where(table.c[owner].in_(owners))
                .order_by(table.c[owner], model.name, model.id)
            )
            out = defaultdict(list)
            for o, i, name in rows.all():
                out[o].append((i, name))
            return out

        uq = await linked(m.user_queues, "user_id", "queue_id", m.Queue, ids)
        uw = await linked(m.user_work_streams, "user_id", "work_stream_id", m.WorkStream, ids)
        pq = await linked(m.user_profile_queues, "user_profile_id", "queue_id", m.Queue, list(profiles))
        pw = await linked(
            m.user_profile_work_streams, "user_profile_id", "work_stream_id", m.WorkStream, list(profiles)
        )
        sp = await linked(m.user_security_profiles, "user_id", "security_profile_id", m.SecurityProfile, ids)
        rank = func.row_number().over(partition_by=m.UserSkill.user_id, order_by=(m.Skill.name, m.Skill.id))
        inner = (
            select(m.UserSkill.user_id, m.Skill.name, m.UserSkill.proficiency, rank.label("r"))
            .join(m.Skill, m.Skill.id == m.UserSkill.skill_id)
            .where(m.UserSkill.user_id.in_(ids))
            .subquery()
        )
        skills = defaultdict(list)
        for uid, name, proficiency, _ in (
            await conn.execute(
                select(inner).where(inner.c.r <= SKILLS_PER_USER).order_by(inner.c.user_id, inner.c.r)
            )
        ).all():
            skills[uid].append({"proficiency": proficiency, "node": {"name": name}})

    def union(mine, theirs):
        merged = {i: [name, "USER"] for i, name in mine}
        for i, name in theirs:
            merged[i] = [merged[i][0], "BOTH"] if i in merged else [name, "PROFILE"]
        return [{"value": {"name": name}, "source": source} for name, source in merged.values()]

    edges = []
    for u in users:
        p = profiles.get(u.user_profile_id)
        capacity = (
            {"value": u.capacity, "source": "USER"}
            if u.capacity is not None
            else {"value": p.capacity, "source": "PROFILE"}
            if p is not None and p.capacity is not None
            else {"value": None, "source": None}
        )
        edges.append(
            {
                "node": {
                    "username": u.username,
                    "team": {"name": teams[u.team_id]} if u.team_id else None,
                    "userProfile": {"name": p.name} if p else None,
                    "queues": [{"name": n} for _, n in uq[u.id]],
                    "workStreams": [{"name": n} for _, n in uw[u.id]],
                    "securityProfiles": [{"name": n} for _, n in sp[u.id]],
                    "skills": {"edges": skills[u.id]},
                    "effectiveSettings": {
                        "capacity": capacity,
                        "queues": union(uq[u.id], pq.get(u.user_profile_id, [])),
                        "workStreams": union(uw[u.id], pw.get(u.user_profile_id, [])),
                    },
                }
            }
        )
    return Response(orjson.dumps({"data": {"users": {"edges": edges}}}), media_type="application/json")


app = Starlette(routes=[Route("/limit", page, methods=["POST", "GET"])])
tune_collector()
os.environ.setdefault("CCGRAPH_LIMIT_APP", "1")
