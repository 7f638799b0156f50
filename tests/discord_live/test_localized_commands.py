"""Slash commands carry their names, descriptions and choices in Discord's locales (Spanish,
German, French), from the same catalogs as everything else the bot says; a member picks a
command by the name their client shows, and it reaches the same core command."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from adapters.discord import localize
from bot import command_words
from bot.app import build_registry
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
    assert rules["name_localizations"] == {
        "es-ES": "normas", "es-419": "normas", "de": "regeln", "fr": "règles"
    }
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
    said = await run(fake, adapter_scene, "regeln", adapter_scene.alice)
    assert said.startswith("Recordatorio de confidencialidad de esta sala:")
    assert "Lo que se comparte aquí, se queda aquí." in said
    said = await run(fake, adapter_scene, "hilfe", adapter_scene.alice)
    assert said.startswith("Comandos que puedes usar:")


async def test_where_the_policy_allows_a_member_hears_their_own_discord_language(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    await start_app(policy=SPANISH_POLICY + "member_language: platform\n")
    adapter_scene.alice.locale = "de"
    said = await run(fake, adapter_scene, "regeln", adapter_scene.alice)
    assert said.startswith("Vertraulichkeitserinnerung für diesen Raum:")
    assert "Was hier geteilt wird, bleibt hier." in said  # the policy's own German text
    adapter_scene.alice.locale = "pt-BR"  # no catalog: the circle's own language
    said = await run(fake, adapter_scene, "help", adapter_scene.alice)
    assert said.startswith("Comandos que puedes usar:")
    adapter_scene.alice.locale = "en-GB"
    said = await run(fake, adapter_scene, "help", adapter_scene.alice)
    assert said.startswith("Commands you can use:")
    adapter_scene.alice.locale = "es-419"
    said = await run(fake, adapter_scene, "normas", adapter_scene.alice)
    assert said.startswith("Recordatorio de confidencialidad de esta sala:")


async def test_names_subcommands_and_options_are_sent_in_every_language(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    await start_app()
    [put] = fake.calls("PUT", COMMANDS_GET)
    assert put.status == 200  # every localized name kept Discord's naming rule
    sent = by_name(put.json)
    checkin = sent["checkin"]
    assert checkin["name_localizations"]["fr"] == "point"
    assert "es-ES" not in checkin["name_localizations"]  # the same word: nothing to send
    schedule = next(o for o in checkin["options"] if o["name"] == "schedule")
    assert schedule["name_localizations"]["de"] == "zeitplan"
    days = next(o for o in schedule["options"] if o["name"] == "days")
    assert days["name_localizations"]["es-ES"] == "días"
    assert sent["forgetme"]["name_localizations"]["fr"] == "oubliez-moi"


async def test_a_spanish_client_picks_spanish_names_and_reaches_the_same_command(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    await start_app(policy=SPANISH_POLICY)
    alice = adapter_scene.alice
    alice.locale = "es-ES"
    with pytest.raises(LookupError):  # her client shows /normas, not /rules
        await run(fake, adapter_scene, "rules", alice)
    said = await run(fake, adapter_scene, "normas", alice)
    assert said.startswith("Recordatorio de confidencialidad de esta sala:")
    # an option by its Spanish name reaches /agree policy:circle
    said = await run(fake, adapter_scene, "aceptar", alice, options={"política": "circle"})
    assert said == "Gracias. Tu aceptación queda registrada para circle."
    # a subcommand by its Spanish name reaches /checkin history
    said = await run(fake, adapter_scene, "checkin", alice, subcommand="historial")
    assert said == "Te lo he enviado en privado."  # /checkin history answers privately


async def test_discord_refuses_a_name_that_breaks_its_naming_rule(
    fake: FakeDiscord, adapter_scene: AdapterScene
) -> None:
    """The fake checks every name and localized name on registration, as Discord does."""
    route = (
        f"https://discord.com/api/v10/applications/{fake.world.application.id}"
        f"/guilds/{adapter_scene.guild.id}/commands"
    )
    headers = {"Authorization": f"Bot {fake.token}"}

    async def put(name_localizations: dict[str, str], name: str = "rules") -> int:
        body = [{"name": name, "description": "the rules", "type": 1,
                 "name_localizations": name_localizations}]
        async with (
            aiohttp.ClientSession(connector=fake.connector()) as session,
            session.put(route, json=body, headers=headers) as answer,
        ):
            return answer.status

    assert await put({"es-ES": "normas", "fr": "règles"}) == 200
    assert await put({"es-ES": "Normas"}) == 400  # capitals have a lowercase form
    assert await put({"es-ES": "normas de la sala"}) == 400  # no spaces
    assert await put({"de": "x" * 33}) == 400
    assert await put({"klingon": "regeln"}) == 400  # not one of Discord's locales
    assert await put({}, name="Rules") == 400


def test_every_command_word_has_a_name_in_every_catalog_that_fits_discords_rule() -> None:
    """A command added to the registry without its words in COMMAND_WORDS fails here, and so
    does a translated name Discord would refuse or two names a member could not tell apart."""
    registry = build_registry()
    words = {w for spec in registry for w in spec.words}
    words |= {p.name for spec in registry for p in spec.params}
    assert words - command_words.COMMAND_WORDS == set()
    for lang in ("es", "de", "fr"):
        top = [spec.words[0] for spec in registry]
        names = {localize.localized_name(lang, w) or w for w in set(top)}
        assert len(names) == len(set(top)), lang  # no two commands read alike
        for word in command_words.COMMAND_WORDS:
            said = command_words.word_in(lang, word)
            assert localize.fits_discord_name(said), (lang, word, said)
