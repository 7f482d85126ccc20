"""userSkills* and skillUsers*: one resolver per verb, for both sides."""

from typing import Any

from strawberry.types import Info

from ccgraph.schema import skill_inputs as si
from ccgraph.schema.errors import UserError
from ccgraph.schema.payloads import SkillPayload, UserPayload
from ccgraph.schema.skills import Skill
from ccgraph.schema.user_inputs import decode
from ccgraph.schema.users import User
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


def _shape(side: sa.Side, outcome: Any, errors: list) -> Any:
    all_errors = UserError.many([*errors, *(outcome.errors if outcome else [])])
    row = outcome.value if outcome else None
    if side is sa.USER:
        return UserPayload(user=User.from_row(row) if row else None, user_errors=all_errors)
    return SkillPayload(skill=Skill.from_row(row) if row else None, user_errors=all_errors)


async def _run(info: Info, side: sa.Side, input: Any, verb: str) -> Any:
    errors: list = []
    anchor_type = "User" if side is sa.USER else "Skill"
    anchor = decode([side.anchor_field], getattr(input, _snake(side.anchor_field)), anchor_type, errors)
    items = getattr(input, side.items_field, None)
    pairs = _pairs(side, items, errors) if verb != "remove" else None
    ids = None
    if verb == "remove":
        field = f"{side.item_field}s"
        item_type = "Skill" if side is sa.USER else "User"
        ids = [
            decode([field, str(i)], x, item_type, errors) for i, x in enumerate(getattr(input, _snake(field)))
        ]
    if errors:
        return _shape(side, None, errors)
    ctx = info.context
    async with ctx.write() as session:
        if verb == "add":
            outcome = await sa.add(session, ctx.actor, side, anchor, pairs, validate_only=input.validate_only)
        elif verb == "set":
            outcome = await sa.set_proficiency(
                session, ctx.actor, side, anchor, pairs, input.set_all_to, validate_only=input.validate_only
            )
        else:
            outcome = await sa.remove(
                session, ctx.actor, side, anchor, ids, validate_only=input.validate_only
            )
    return _shape(side, outcome, [])


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
