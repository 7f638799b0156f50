"""Slash commands carry their descriptions and choices in Discord's locales (Spanish, German,
French), from the same catalogs as everything else the bot says; names stay as declared."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.discord_fake import FakeDiscord

from .conftest import ADAPTER_POLICY, AdapterScene
from .test_adapter_commands import run

COMMANDS_GET = "/applications/{app}/guilds/{guild}/commands"


def by_name(commands: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in commands}


async def test_descriptions_and_choices_are_sent_in_every_language_the_bot_speaks(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    await start_app()
    [put] = fake.calls("PUT", COMMANDS_GET)
    sent = by_name(put.json)
    rules = sent["rules"]
    assert rules["description"] == "show this room's confidentiality reminder"
    spanish = "mostrar el recordatorio de confidencialidad de esta sala"
    assert rules["description_localizations"] == {
        "es-ES": spanish,
        "es-419": spanish,  # Latin American Spanish reads the Spanish catalog
        "de": "die Vertraulichkeitserinnerung dieses Raums zeigen",
        "fr": "afficher le rappel de confidentialité de ce salon",
    }
    assert rules["name_localizations"] in ({}, None)  # /rules is /rules in every language
    action, _ = sent["flag"]["options"]
    resolve = next(c for c in action["choices"] if c["value"] == "resolve")
    assert resolve["name_localizations"]["de"] == "erledigen"
    description = action["description_localizations"]["fr"]
    assert description == "que faire"
    group = sent["checkin"]
    spanish_group = group["description_localizations"]["es-ES"]
    assert spanish_group.startswith("comandos de checkin: history, pause")
    # stored as sent: the next start compares localizations too and puts nothing
    stored = by_name(fake.world.commands[adapter_scene.guild.id])
    assert stored["rules"]["description_localizations"]["fr"] == rules[
        "description_localizations"
    ]["fr"]


SPANISH_POLICY = ADAPTER_POLICY.replace("name: circle\n", "name: circle\nlanguage: es\n", 1)
SPANISH_POLICY = SPANISH_POLICY.replace(
    "  text: What is shared here stays here.\n",
    "  text:\n    es: Lo que se comparte aquí, se queda aquí.\n"
    "    de: Was hier geteilt wird, bleibt hier.\n",
)


async def test_a_spanish_circle_answers_in_spanish(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    """Members hear the policy's language, whatever their client says, by default."""
    await start_app(policy=SPANISH_POLICY)
    adapter_scene.alice.locale = "de"
    said = await run(fake, adapter_scene, "rules", adapter_scene.alice)
    assert said.startswith("Recordatorio de confidencialidad de esta sala:")
    assert "Lo que se comparte aquí, se queda aquí." in said
    said = await run(fake, adapter_scene, "help", adapter_scene.alice)
    assert said.startswith("Comandos que puedes usar:")


async def test_where_the_policy_allows_a_member_hears_their_own_discord_language(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    await start_app(policy=SPANISH_POLICY + "member_language: platform\n")
    adapter_scene.alice.locale = "de"
    said = await run(fake, adapter_scene, "rules", adapter_scene.alice)
    assert said.startswith("Vertraulichkeitserinnerung für diesen Raum:")
    assert "Was hier geteilt wird, bleibt hier." in said  # the policy's own German text
    adapter_scene.alice.locale = "pt-BR"  # no catalog: the circle's own language
    said = await run(fake, adapter_scene, "help", adapter_scene.alice)
    assert said.startswith("Comandos que puedes usar:")
    adapter_scene.alice.locale = "en-GB"
    said = await run(fake, adapter_scene, "help", adapter_scene.alice)
    assert said.startswith("Commands you can use:")
    adapter_scene.alice.locale = "es-419"
    said = await run(fake, adapter_scene, "rules", adapter_scene.alice)
    assert said.startswith("Recordatorio de confidencialidad de esta sala:")
