"""What the Discord adapter words itself (the permissions it lacks, with their fix) reaches a
Spanish circle's moderators in Spanish, inside the core's Spanish alert."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from bot.events import BotPermissions
from tests.discord_fake import FakeDiscord
from tests.discord_fake.permissions import SEND_MESSAGES
from tests.discord_fake.state import FakeOverwrite

from .conftest import VIEW_CHANNEL, AdapterScene
from .test_localized_commands import SPANISH_POLICY

MESSAGES = "/channels/{channel_id}/messages"


async def test_missing_permissions_are_told_in_the_circles_language(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    scene = adapter_scene
    # the bot may read and post, but neither delete posts nor change channel permissions
    scene.bot_role.permissions = VIEW_CHANNEL | (1 << 11) | (1 << 16)
    # and in #inner it may not post at all
    scene.inner.overwrites[scene.bot_role.id] = FakeOverwrite(
        scene.bot_role.id, 0, deny=SEND_MESSAGES
    )
    rig = await start_app(policy=SPANISH_POLICY)
    circle = next(e for e in rig.of_type(BotPermissions) if e.room.name == "circle")
    # the adapter's own words stay English where it reads them (the log, the doctor)
    assert any(m.startswith("Manage Messages in #circle") for m in circle.missing)
    await fake.wait_for_call("POST", f"/channels/{scene.mods.id}/messages", count=2)
    await asyncio.sleep(0.05)
    told = "\n".join(
        str(r.json["content"]) for r in fake.calls("POST", f"/channels/{scene.mods.id}/messages")
    )
    assert "Confidant en discord no puede hacer todo lo que piden sus políticas:" in told
    assert "el permiso Gestionar mensajes (Manage Messages) en #circle (para quitar" in told
    assert "el permiso Gestionar permisos (Manage Permissions, Manage Roles) en #circle" in told
    assert "en inner al bot le falta el permiso Enviar mensajes (Send Messages) en #inner" in told
    assert "to remove posts" not in told and "Send Messages in #" not in told


async def test_a_refusal_and_its_reason_are_told_in_the_circles_language(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    """Discord refuses the private thread (the README's invite has no Create Private
    Threads): the member is reached in the room and the moderators hear why, in Spanish."""
    scene = adapter_scene
    policy = SPANISH_POLICY.replace(
        "  delivery: private\n", "  delivery: private\n  fallback: private_thread\n"
    )
    await start_app(policy=policy)
    before = len(fake.calls("POST", f"/channels/{scene.mods.id}/messages"))
    erin = fake.world.add_user("erin", accepts_dms=False)
    await fake.events.member_add(scene.guild, erin)
    [refused] = await fake.wait_for_call("POST", f"/channels/{scene.circle.id}/threads")
    assert refused.status == 403
    [mention] = await fake.wait_for_call("POST", f"/channels/{scene.circle.id}/messages")
    assert mention.json["content"].startswith(f"<@{erin.id}> No he podido escribirte")
    posted = await fake.wait_for_call(
        "POST", f"/channels/{scene.mods.id}/messages", count=before + 1
    )
    alert = str(posted[before].json["content"])
    assert "en circle la plataforma ha rechazado" in alert
    assert (
        "(Discord respondió 50013: falta el permiso Crear hilos privados (Create Private "
        f"Threads) en {scene.circle.id})"
    ) in alert
    assert "answered" not in alert and "no Create Private Threads permission" not in alert
