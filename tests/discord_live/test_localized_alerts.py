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


async def test_a_role_problem_the_adapter_finds_is_told_in_the_circles_language(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    """The posting role sits above the bot's: the adapter's own report (not tied to a room
    event) reaches the Spanish moderators' room in Spanish, its consequence too."""
    from .test_adapter_roles import role_policy

    guild = adapter_scene.guild
    role = fake.world.add_role(guild, "agreed")
    scene_circle = adapter_scene.circle
    scene_circle.overwrites[guild.id] = FakeOverwrite(guild.id, 0, deny=SEND_MESSAGES)
    scene_circle.overwrites[role.id] = FakeOverwrite(role.id, 0, allow=SEND_MESSAGES)
    fake.world.move_role(guild, role, len(guild.roles))  # above the bot's role
    policy = role_policy(role).replace("name: circle\n", "name: circle\nlanguage: es\n", 1)
    await start_app(policy=policy)
    [alert] = await fake.wait_for_call("POST", f"/channels/{adapter_scene.mods.id}/messages")
    content = alert.json["content"]
    assert content.startswith("Confidant en discord no puede hacer todo lo que piden")
    assert (
        "el rol más alto del bot, 'Confidant', tiene que estar por encima del rol 'agreed' "
        "que deja escribir a los miembros en #circle"
    ) in content
    assert "hasta que se arregle, los miembros que aceptan no reciben el rol" in content
    assert "until this is fixed" not in content


def test_an_adapters_phrase_is_english_as_a_string_and_said_in_the_readers_language() -> None:
    from bot import i18n, texts
    from bot.i18n import Phrase

    missing = Phrase(
        "the bot is not in the Discord server {guild}; invite it with the link in the docs",
        guild=42,
    )
    assert missing == "the bot is not in the Discord server 42; invite it with the link in the docs"
    with i18n.speaking("es"):
        told = texts.adapter_problems("discord", (missing, "plain words stay as they are"))
    assert told.splitlines() == [
        "Confidant en discord no puede hacer todo lo que piden sus políticas:",
        "- el bot no está en el servidor de Discord 42; invítalo con el enlace de la "
        "documentación",
        "- plain words stay as they are",
    ]
    nested = Phrase(
        "the bot needs Manage Permissions in {where} (Manage Roles on its role) to let "
        "members who agreed view it; {consequence}",
        where="#circle",
        consequence=Phrase("until this is fixed, members who agree cannot be let in"),
    )
    assert i18n.said(nested, "fr").endswith(
        "; tant que ce n'est pas corrigé, les membres qui acceptent ne peuvent pas entrer"
    )
    assert str(nested).endswith("until this is fixed, members who agree cannot be let in")
