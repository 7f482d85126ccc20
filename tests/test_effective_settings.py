"""Effective settings (Dynamics 365 'Create and manage users and user profiles')."""

from types import SimpleNamespace

from ccgraph.db import models as m
from ccgraph.enums import SettingSource
from ccgraph.services.users.effective_settings import RoutingInputs, effective_settings
from tests import factories as f


def thing(id: int) -> SimpleNamespace:
    return SimpleNamespace(id=id)


def inputs(**kw):
    base = dict(
        user_capacity=None,
        profile_capacity=None,
        user_default_presence=None,
        profile_default_presence=None,
        user_queues=[],
        profile_queues=[],
        user_work_streams=[],
        profile_work_streams=[],
    )
    return RoutingInputs(**(base | kw))


def test_user_capacity_50_overrides_profile_capacity_40():
    result = effective_settings(inputs(user_capacity=50, profile_capacity=40))
    assert (result.capacity.value, result.capacity.source) == (50, SettingSource.USER)


def test_user_without_capacity_inherits_the_profiles():
    result = effective_settings(inputs(user_capacity=None, profile_capacity=40))
    assert (result.capacity.value, result.capacity.source) == (40, SettingSource.PROFILE)


def test_no_capacity_anywhere_is_null_without_source():
    result = effective_settings(inputs())
    assert (result.capacity.value, result.capacity.source) == (None, None)


def test_user_capacity_zero_still_overrides():
    result = effective_settings(inputs(user_capacity=0, profile_capacity=40))
    assert (result.capacity.value, result.capacity.source) == (0, SettingSource.USER)


def test_default_presence_user_overrides_profile():
    mine, theirs = thing(1), thing(2)
    result = effective_settings(inputs(user_default_presence=mine, profile_default_presence=theirs))
    assert result.default_presence.value is mine
    assert result.default_presence.source is SettingSource.USER


def test_queues_and_work_streams_are_the_union_with_sources():
    a, b, c = thing(1), thing(2), thing(3)
    result = effective_settings(
        inputs(user_queues=[a, b], profile_queues=[b, c], user_work_streams=[], profile_work_streams=[c])
    )
    assert [(q.value.id, q.source) for q in result.queues] == [
        (1, SettingSource.USER),
        (2, SettingSource.BOTH),
        (3, SettingSource.PROFILE),
    ]
    assert [(w.value.id, w.source) for w in result.work_streams] == [(3, SettingSource.PROFILE)]


QUERY = """query($id: ID!) { user(id: $id) { capacity userProfile { name capacity }
  effectiveSettings {
    capacity { value source }
    defaultPresence { value { name } source }
    queues { value { name } source }
    workStreams { value { name } source } } } }"""


async def test_effective_settings_over_the_api(admin_api, db, admin):
    unit = await db.get(m.BusinessUnit, 1)
    available = await f.presence(db, unit, "Ready")
    lunch = await f.presence(db, unit, "Lunch")
    vip, billing, general = [await f.queue(db, unit, n) for n in ("VIP", "Billing", "General")]
    voice = await f.work_stream(db, unit, "Voice")
    chat = await f.work_stream(db, unit, "Chat")
    sme = m.UserProfile(
        business_unit_id=unit.id, name="Subject Matter Experts", capacity=40, default_presence_id=available.id
    )
    db.add(sme)
    await db.flush()
    await f.link(db, m.user_profile_queues, user_profile_id=sme.id, queue_id=vip.id)
    await f.link(db, m.user_profile_queues, user_profile_id=sme.id, queue_id=general.id)
    await f.link(db, m.user_profile_work_streams, user_profile_id=sme.id, work_stream_id=voice.id)
    gilda = await f.user(db, unit, "gilda", capacity=50, user_profile_id=sme.id, default_presence_id=lunch.id)
    await f.link(db, m.user_queues, user_id=gilda.id, queue_id=vip.id)
    await f.link(db, m.user_queues, user_id=gilda.id, queue_id=billing.id)
    await f.link(db, m.user_work_streams, user_id=gilda.id, work_stream_id=chat.id)
    ravi = await f.user(db, unit, "ravi", user_profile_id=sme.id)
    await db.commit()

    data = await admin_api.data(QUERY, {"id": f.gid("User", gilda.id)})
    eff = data["user"]["effectiveSettings"]
    assert data["user"]["capacity"] == 50 and data["user"]["userProfile"]["capacity"] == 40
    assert eff["capacity"] == {"value": 50, "source": "USER"}
    assert eff["defaultPresence"] == {"value": {"name": "Lunch"}, "source": "USER"}
    assert sorted((q["value"]["name"], q["source"]) for q in eff["queues"]) == [
        ("Billing", "USER"),
        ("General", "PROFILE"),
        ("VIP", "BOTH"),
    ]
    assert sorted((w["value"]["name"], w["source"]) for w in eff["workStreams"]) == [
        ("Chat", "USER"),
        ("Voice", "PROFILE"),
    ]

    data = await admin_api.data(QUERY, {"id": f.gid("User", ravi.id)})
    eff = data["user"]["effectiveSettings"]
    assert data["user"]["capacity"] is None
    assert eff["capacity"] == {"value": 40, "source": "PROFILE"}
    assert eff["defaultPresence"] == {"value": {"name": "Ready"}, "source": "PROFILE"}
    assert sorted(q["value"]["name"] for q in eff["queues"]) == ["General", "VIP"]


async def test_a_user_has_at_most_one_profile(admin_api):
    data = await admin_api.data(
        '{ __type(name: "User") { fields { name type { kind name ofType { kind } } } } }'
    )
    field = next(x for x in data["__type"]["fields"] if x["name"] == "userProfile")
    assert field["type"] == {"kind": "OBJECT", "name": "UserProfile", "ofType": None}
