"""Delivery under Discord's rules: private messages that cannot go out now, and interactions
answered within Discord's three seconds.

A DM Discord refuses (50007 closed, 50278 no shared server, 40003 opening DMs too fast, any
other 4xx) is tried a bounded number of times with pauses, then the policy's fallback, and
never for someone who is no longer there: every refused attempt counts toward Discord's
invalid request limit (fake.limits). The core's periodic resend is driven here by calling
the runtime's tick on the core's fake clock, as the real timer would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from tests.discord_fake import FakeDiscord
from tests.discord_fake.recorder import RecordedRequest
from tests.discord_fake.state import FakeUser

from .conftest import ADAPTER_POLICY, REMINDER, AdapterRig, AdapterScene

OPEN_DM = "/users/@me/channels"
RESENDS = 6  # more periodic resends than any bound on attempts allows


def dm_posts(fake: FakeDiscord, user: FakeUser) -> list[RecordedRequest]:
    return fake.calls("POST", f"/channels/{fake.world.open_dm(user).id}/messages")


def mentions_of(fake: FakeDiscord, channel_id: int, user: FakeUser) -> list[RecordedRequest]:
    return [
        c for c in fake.calls("POST", f"/channels/{channel_id}/messages")
        if f"<@{user.id}>" in str((c.json or {}).get("content", ""))
    ]


async def resend_for_a_while(rig: AdapterRig, fake: FakeDiscord, hours: float = 6) -> None:
    """Let the core's periodic resend run, spread over ``hours`` on the core's clock."""
    clock = rig.app.core.clock
    for _ in range(RESENDS):
        await clock.advance(timedelta(hours=hours / RESENDS))
        await rig.app.runtime.tick()
    await asyncio.sleep(0.1)  # anything the last tick set off reaches the fake


async def test_a_member_who_left_is_not_retried_forever_nor_mentioned(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    """Erin joins and leaves at once: she shares no server with the bot any more (50278).
    At most three attempts at the DM, no room mention for someone gone, and the outbox
    does not keep her reminder owed for ever."""
    rig = await start_app()
    erin = fake.world.add_user("erin")
    mark = fake.requests.mark()
    await fake.events.member_add(adapter_scene.guild, erin)
    await fake.events.member_remove(adapter_scene.guild, erin)
    dm = fake.world.open_dm(erin)
    [refused] = await fake.wait_for_call("POST", f"/channels/{dm.id}/messages", since=mark)
    assert refused.status == 403  # 50278: no mutual guilds

    await resend_for_a_while(rig, fake)
    assert 1 <= len(dm_posts(fake, erin)) <= 3
    assert all(c.status == 403 for c in dm_posts(fake, erin))
    assert mentions_of(fake, adapter_scene.circle.id, erin) == []
    assert fake.calls("POST", "/channels/{channel_id}/threads") == []
    assert [p for p in await rig.app.store.pending_reminders() if p.member_id == str(erin.id)] \
        == []
    assert fake.limits.invalid_requests() <= 3


async def test_a_member_who_rejoins_after_leaving_is_reminded_then(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    """Giving up on someone gone is not forgetting them: back in the server, reminded."""
    await start_app()
    erin = fake.world.add_user("erin")
    mark = fake.requests.mark()
    await fake.events.member_add(adapter_scene.guild, erin)
    await fake.events.member_remove(adapter_scene.guild, erin)
    dm = fake.world.open_dm(erin)
    await fake.wait_for_call("POST", f"/channels/{dm.id}/messages", since=mark)
    await asyncio.sleep(0.1)
    mark = fake.requests.mark()
    await fake.events.member_add(adapter_scene.guild, erin)
    [delivered] = await fake.wait_for_call("POST", f"/channels/{dm.id}/messages", since=mark)
    assert delivered.status == 200 and REMINDER in delivered.json["content"]


async def test_opening_dms_too_fast_is_retried_with_pauses_then_falls_back_once(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    """40003 on every new DM (a raid used the rate up): three attempts, spaced out, then the
    policy's fallback (a room mention) once, and then nothing more."""
    fake.limits.dm_opens_per_window = 0
    rig = await start_app()
    frank = fake.world.add_user("frank")
    mark = fake.requests.mark()
    await fake.events.member_add(adapter_scene.guild, frank)
    [first] = await fake.wait_for_call("POST", OPEN_DM, since=mark)
    assert first.status == 403  # 40003
    await asyncio.sleep(0.1)

    clock = rig.app.core.clock
    await rig.app.runtime.tick()  # at once: no new attempt, the pause has not passed
    await asyncio.sleep(0.05)
    assert len(fake.calls("POST", OPEN_DM)) == 1
    await resend_for_a_while(rig, fake)
    opens = fake.calls("POST", OPEN_DM)
    assert 2 <= len(opens) <= 3 and all(c.status == 403 for c in opens)
    [mention] = mentions_of(fake, adapter_scene.circle.id, frank)
    assert mention.status == 200 and REMINDER in mention.json["content"]
    assert await rig.app.store.pending_reminders() == []  # the fallback reached him
    await clock.advance(timedelta(days=1))
    await rig.app.runtime.tick()
    await asyncio.sleep(0.1)
    assert len(fake.calls("POST", OPEN_DM)) == len(opens)
    assert len(mentions_of(fake, adapter_scene.circle.id, frank)) == 1


# -- interactions: acknowledged within 3 s, buttons without a "thinking…" ---------------------

RULES_POLICY = ADAPTER_POLICY.replace("delivery: private", "delivery: rules_message")
AGREE_ID = "confidant:agree:circle"
EPHEMERAL = 1 << 6
LOADING = 1 << 7  # a "thinking…" message Discord shows until it is edited
DEFERRED_UPDATE_MESSAGE = 6
DEFERRED_CHANNEL_MESSAGE = 5
SLOW_WRITE_S = 4.0


def slow_agreements(rig: AdapterRig, seconds: float = SLOW_WRITE_S) -> None:
    """The App's store takes ``seconds`` to write an agreement (a disk under load): the
    core is busy past Discord's deadline while it handles the interaction."""
    store = rig.app.store
    record = store.record_agreement

    async def slow(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(seconds)
        return await record(*args, **kwargs)

    store.record_agreement = slow  # type: ignore[method-assign]


def callback_route(interaction: Any) -> str:
    return f"/interactions/{interaction.id}/{interaction.token}/callback"


def follow_up_route(fake: FakeDiscord, interaction: Any) -> str:
    return f"/webhooks/{fake.world.application.id}/{interaction.token}"


async def joined_and_reminded(
    fake: FakeDiscord, scene: AdapterScene, name: str
) -> FakeUser:
    user = fake.world.add_user(name)
    mark = fake.requests.mark()
    await fake.events.member_add(scene.guild, user)
    dm = fake.world.open_dm(user)
    [sent] = await fake.wait_for_call("POST", f"/channels/{dm.id}/messages", since=mark)
    assert sent.status == 200
    await fake.wait_for_call(
        "PUT", f"/channels/{scene.circle.id}/permissions/{user.id}", since=mark
    )
    return user


async def test_a_slow_button_press_is_acknowledged_in_time_without_a_thinking_message(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    rig = await start_app(policy=RULES_POLICY)
    circle = adapter_scene.circle
    [rules] = [
        m for m in fake.world.messages.values()
        if m.channel_id == circle.id and m.author_id == fake.world.bot_user.id
    ]
    carol = fake.world.add_user("carol")
    mark = fake.requests.mark()
    await fake.events.member_add(adapter_scene.guild, carol)
    await fake.wait_for_call("PUT", f"/channels/{circle.id}/permissions/{carol.id}", since=mark)
    slow_agreements(rig)

    click = await fake.events.component_click(rules, AGREE_ID, user=carol)
    [callback] = await fake.wait_for_call("POST", callback_route(click), timeout=5)
    assert fake.limits.callback_delays[click.id] < fake.limits.interaction_deadline_s
    assert callback.status < 300
    assert callback.json["type"] == DEFERRED_UPDATE_MESSAGE  # acknowledged, nothing shown
    [answer] = await fake.wait_for_call("POST", follow_up_route(fake, click), timeout=10)
    assert answer.status == 200 and answer.json["flags"] == EPHEMERAL
    assert answer.json["content"].startswith("Thank you. Your agreement is recorded for")
    assert [m for m in fake.world.messages.values() if m.flags & LOADING] == []
    assert rules.content.startswith("Confidentiality reminder")  # the post is untouched
    assert await rig.app.store.has_agreed("discord", str(carol.id), "circle", None)


async def test_a_slow_command_is_acknowledged_in_time_and_answered(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    rig = await start_app()
    carol = await joined_and_reminded(fake, adapter_scene, "carol")
    slow_agreements(rig)
    command = await fake.events.slash_command("agree", user=carol, channel=adapter_scene.lobby)
    [callback] = await fake.wait_for_call("POST", callback_route(command), timeout=5)
    assert fake.limits.callback_delays[command.id] < fake.limits.interaction_deadline_s
    assert callback.status < 300
    assert callback.json == {"type": DEFERRED_CHANNEL_MESSAGE, "data": {"flags": EPHEMERAL}}
    app_id = fake.world.application.id
    [edit] = await fake.wait_for_call(
        "PATCH", f"/webhooks/{app_id}/{command.token}/messages/@original", timeout=10
    )
    assert edit.status == 200
    assert edit.json["content"] == "Thank you. Your agreement is recorded for circle."


async def test_an_interaction_discord_refuses_as_late_is_logged_and_answered_privately(
    fake: FakeDiscord,
    adapter_scene: AdapterScene,
    start_app: Callable[..., Any],
    caplog: Any,
) -> None:
    """The bot's acknowledgement arrives after Discord's deadline (here lowered so the
    adapter's own timer misses it): 10062. Logged, the answer reaches the member in a DM,
    and the next interaction is served as usual."""
    rig = await start_app()
    carol = await joined_and_reminded(fake, adapter_scene, "carol")
    dm = fake.world.open_dm(carol)
    fake.limits.interaction_deadline_s = 0.5
    slow_agreements(rig, 2.5)
    mark = fake.requests.mark()
    command = await fake.events.slash_command("agree", user=carol, channel=adapter_scene.lobby)
    [refused] = await fake.wait_for_call("POST", callback_route(command), timeout=5)
    assert refused.status == 404  # 10062 Unknown interaction
    [answer] = await fake.wait_for_call(
        "POST", f"/channels/{dm.id}/messages", since=mark, timeout=10
    )
    assert answer.status == 200
    assert answer.json["content"] == "Thank you. Your agreement is recorded for circle."
    assert any(
        "too late" in r.getMessage() and str(command.id) in r.getMessage()
        for r in caplog.records
        if r.name == "confidant.discord"
    )
    assert not [r for r in caplog.records if r.name == "confidant.runtime" and r.exc_info]

    fake.limits.interaction_deadline_s = 3.0
    again = await fake.events.slash_command("help", user=carol, channel=adapter_scene.lobby)
    [served] = await fake.wait_for_call("POST", callback_route(again), timeout=5)
    assert served.status == 200 and served.json["type"] == 4


async def test_a_long_shared_rate_limit_does_not_hang_the_reminder(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    """Discord asks for 1336 s on the DM (a shared-scope 429): discord.py would sleep that
    long inside the action; the adapter gives up at once instead, the attempt is counted,
    and the next periodic resend delivers the reminder."""
    rig = await start_app()
    carol = fake.world.add_user("carol")
    dm = fake.world.open_dm(carol)
    fake.faults.shared_rate_limit("POST", f"/channels/{dm.id}/messages")
    started = asyncio.get_running_loop().time()
    await fake.events.member_add(adapter_scene.guild, carol)
    [limited] = await fake.wait_for_call("POST", f"/channels/{dm.id}/messages")
    assert limited.status == 429
    for _ in range(300):  # bounded: 3 s
        owed = await rig.app.store.owed_reminders("discord", str(carol.id))
        if owed and owed[0].attempts == 1:
            break
        await asyncio.sleep(0.01)
    assert owed and owed[0].attempts == 1
    assert asyncio.get_running_loop().time() - started < 10  # not 22 minutes
    await resend_for_a_while(rig, fake, hours=1)
    delivered = [c for c in dm_posts(fake, carol) if c.status == 200]
    assert len(delivered) == 1 and REMINDER in delivered[0].json["content"]
    assert await rig.app.store.owed_reminders("discord", str(carol.id)) == []
