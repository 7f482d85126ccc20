"""A user's skills and a skill's users (userSkills* and skillUsers*): one resolver per verb,
for both sides; the root fields of this domain."""

from typing import Any

import strawberry
from strawberry.types import Info

from ccgraph.enums import Permission as P
from ccgraph.resolvers.common import shaped, write
from ccgraph.resolvers.users import user_payload
from ccgraph.schema import skills as si
from ccgraph.schema.node import decode
from ccgraph.schema.permissions import requires
from ccgraph.schema.skills import Skill, SkillPayload
from ccgraph.schema.users.types import UserPayload
from ccgraph.services import skills as sa


def _pairs(side: sa.Side, items: list[Any] | None, errors: list) -> list[tuple[int, int]] | None:
    if items is None:
        return None
    item_type = "Skill" if side is sa.USER else "User"
    return [
        (
            decode(
                [side.items_field, str(i), side.item_field],
                getattr(x, _snake(side.item_field)),
                item_type,
                errors,
            ),
            x.proficiency,
        )
        for i, x in enumerate(items)
    ]


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def _payload(side: sa.Side) -> Any:
    if side is sa.USER:
        return user_payload
    return shaped(Skill, "skill", SkillPayload)


async def _run(info: Info, side: sa.Side, input: Any, verb: str) -> Any:
    errors: list = []
    anchor_type = "User" if side is sa.USER else "Skill"
    anchor = decode([side.anchor_field], getattr(input, _snake(side.anchor_field)), anchor_type, errors)
    if verb == "remove":
        field = f"{side.item_field}s"
        item_type = "Skill" if side is sa.USER else "User"
        ids = [
            decode([field, str(i)], x, item_type, errors) for i, x in enumerate(getattr(input, _snake(field)))
        ]
    else:
        pairs = _pairs(side, getattr(input, side.items_field, None), errors)

    def call(session: Any, ctx: Any) -> Any:
        dry = input.validate_only
        if verb == "add":
            return sa.add(session, ctx.actor, side, anchor, pairs or [], validate_only=dry)
        if verb == "set":
            return sa.set_proficiency(
                session, ctx.actor, side, anchor, pairs, input.set_all_to, validate_only=dry
            )
        return sa.remove(session, ctx.actor, side, anchor, ids, validate_only=dry)

    return await write(info, errors, call, _payload(side))


async def user_skills_add(info: Info, input: si.UserSkillsAddInput) -> UserPayload:
    return await _run(info, sa.USER, input, "add")


async def user_skills_set_proficiency(info: Info, input: si.UserSkillsSetProficiencyInput) -> UserPayload:
    return await _run(info, sa.USER, input, "set")


async def user_skills_remove(info: Info, input: si.UserSkillsRemoveInput) -> UserPayload:
    return await _run(info, sa.USER, input, "remove")


async def skill_users_add(info: Info, input: si.SkillUsersAddInput) -> SkillPayload:
    return await _run(info, sa.SKILL, input, "add")


async def skill_users_set_proficiency(info: Info, input: si.SkillUsersSetProficiencyInput) -> SkillPayload:
    return await _run(info, sa.SKILL, input, "set")


async def skill_users_remove(info: Info, input: si.SkillUsersRemoveInput) -> SkillPayload:
    return await _run(info, sa.SKILL, input, "remove")


@strawberry.type
class Mutation:
    user_skills_add = strawberry.mutation(
        resolver=user_skills_add,
        extensions=[requires(P.USERS_EDIT, P.SKILLS_EDIT)],
        description="Give a user many skills at once, each with a proficiency.",
    )
    user_skills_set_proficiency = strawberry.mutation(
        resolver=user_skills_set_proficiency,
        extensions=[requires(P.USERS_EDIT)],
        description="Change many or all of a user's proficiencies at once.",
    )
    user_skills_remove = strawberry.mutation(
        resolver=user_skills_remove, extensions=[requires(P.USERS_EDIT, P.SKILLS_EDIT)]
    )
    skill_users_add = strawberry.mutation(
        resolver=skill_users_add,
        extensions=[requires(P.USERS_EDIT, P.SKILLS_EDIT)],
        description="Give a skill to many users at once, each with a proficiency.",
    )
    skill_users_set_proficiency = strawberry.mutation(
        resolver=skill_users_set_proficiency,
        extensions=[requires(P.USERS_EDIT)],
        description="Change many or all users' proficiency in a skill at once.",
    )
    skill_users_remove = strawberry.mutation(
        resolver=skill_users_remove, extensions=[requires(P.USERS_EDIT, P.SKILLS_EDIT)]
    )
