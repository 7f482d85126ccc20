"""Inputs of the skill assignment mutations, from the user's side and from the skill's."""

from __future__ import annotations

import strawberry
from strawberry import relay

from ccgraph.schema.user_inputs import UserSkillInput

SET_ALL = "Give every assigned one this proficiency (instead of listing them)."


@strawberry.input(description="A user and their proficiency in the skill (1 most, 20 least).")
class SkillUserInput:
    user_id: relay.GlobalID
    proficiency: int


@strawberry.input
class UserSkillsAddInput:
    user_id: relay.GlobalID
    skills: list[UserSkillInput]
    validate_only: bool = False


@strawberry.input(description="Change many of a user's proficiencies, or all of them at once.")
class UserSkillsSetProficiencyInput:
    user_id: relay.GlobalID
    skills: list[UserSkillInput] | None = None
    set_all_to: int | None = strawberry.field(default=None, description=SET_ALL)
    validate_only: bool = False


@strawberry.input
class UserSkillsRemoveInput:
    user_id: relay.GlobalID
    skill_ids: list[relay.GlobalID]
    validate_only: bool = False


@strawberry.input
class SkillUsersAddInput:
    skill_id: relay.GlobalID
    users: list[SkillUserInput]
    validate_only: bool = False


@strawberry.input(description="Change many users' proficiency in the skill, or all at once.")
class SkillUsersSetProficiencyInput:
    skill_id: relay.GlobalID
    users: list[SkillUserInput] | None = None
    set_all_to: int | None = strawberry.field(default=None, description=SET_ALL)
    validate_only: bool = False


@strawberry.input
class SkillUsersRemoveInput:
    skill_id: relay.GlobalID
    user_ids: list[relay.GlobalID]
    validate_only: bool = False
