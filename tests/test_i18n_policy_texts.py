"""A policy's language and its own texts per language, as `confidant check` reads them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.policy import PolicyLoadError, load_policy_text
from tests.conftest import policy_rig

P = "policies/circulo.yaml"
HEAD = """\
name: circulo
rooms:
  - platform: console
    name: recuperacion
"""
TWO_TEXTS = """\
reminder:
  text:
    es: Lo que se comparte aquí, se queda aquí.
    en: What is shared here stays here.
"""
CHECKINS = """\
checkins:
  intro:
    es: Los check-ins son privados.
    en: Check-ins are private.
  questions:
    - id: animo
      prompt:
        es: ¿Cómo está tu ánimo hoy?
      kind: scale
  crisis:
    resources:
      - name: {es: Teléfono de la Esperanza, en: Hope line}
        number: "717 003 717"
"""


def errors_of(source: str) -> list[str]:
    with pytest.raises(PolicyLoadError) as caught:
        load_policy_text(source, P)
    return [str(error) for error in caught.value.errors]


def test_a_language_without_a_catalog_or_not_a_tag_is_an_error_at_its_line() -> None:
    assert errors_of(HEAD + "language: xx\nreminder:\n  text: Hi\n") == [
        f"{P}:5:11: Confidant has no catalog for 'xx'; it speaks en, de, es, fr. Add one "
        "(README: adding a language) or pick one of these"
    ]
    assert errors_of(HEAD + "language: Spanish!\nreminder:\n  text: Hi\n") == [
        f"{P}:5:11: 'Spanish!' is not a language tag; write one like 'en', 'es', 'de', 'fr' or "
        "'es-MX' (BCP 47)"
    ]


def test_every_text_gives_every_language_or_the_policy_names_a_fallback() -> None:
    source = HEAD + "language: es\n" + TWO_TEXTS + CHECKINS
    assert errors_of(source) == [
        f"{P}:17:9: this text has no 'en' version; give every language the policy uses (en, "
        "es), or set 'fallback_language:' to the language said where one is missing"
    ]
    policy = load_policy_text(source + "fallback_language: es\n", P)
    assert policy.checkins is not None
    prompt = policy.checkins.questions[0].prompt
    assert prompt == "¿Cómo está tu ánimo hoy?"
    assert policy.text_in("checkins.questions.0.prompt", "en", prompt) == prompt  # the fallback
    assert policy.checkins.crisis.resources[0].name == "Teléfono de la Esperanza"


def test_the_policy_language_picks_the_text_the_others_are_kept() -> None:
    policy = load_policy_text(HEAD + "language: es-MX\n" + TWO_TEXTS.replace("es:", "es-MX:"), P)
    assert policy.reminder.text == "Lo que se comparte aquí, se queda aquí."
    said = policy.reminder.text
    assert policy.text_in("reminder.text", "en", said) == "What is shared here stays here."
    assert policy.text_in("reminder.text", "de", said) == said
    assert errors_of(HEAD + "reminder:\n  text:\n    spanish: Hola\n") == [
        f"{P}:7:5: 'spanish' is not a language tag; write one like 'en', 'es' or 'es-MX'"
    ]


async def test_a_spanish_room_reads_its_spanish_reminder(tmp_path: Path) -> None:
    policy = HEAD + "language: es\n" + TWO_TEXTS + "  require_agreement: true\n"
    async with policy_rig(tmp_path, policy) as rig:
        out = await rig.say(":room recuperacion", ":join ana")
    assert "Te damos la bienvenida a recuperacion" in out
    assert "Lo que se comparte aquí, se queda aquí." in out
    assert "What is shared" not in out


def test_an_option_that_is_the_languages_word_for_skip_or_stop_is_refused() -> None:
    """A Spanish check-in reads 'saltar' as skip: an option 'saltar' could never be chosen."""
    source = HEAD + (
        "language: es\nreminder:\n  text: Hola\ncheckins:\n  intro: Privado.\n  questions:\n"
        "    - id: hoy\n      prompt: ¿Qué harás hoy?\n      kind: choice\n"
        "      options: [caminar, saltar, descansar]\n"
    )
    assert errors_of(source) == [
        f"{P}:14:26: 'saltar' cannot be an answer: in a check-in in the policy's language it "
        "is the word for 'skip' (skip skips the question, stop ends the check-in); word it "
        "differently"
    ]
    assert load_policy_text(source.replace("language: es\n", ""), P).checkins is not None


async def test_a_private_chat_speaks_the_members_community_language(tmp_path: Path) -> None:
    """Two communities, Spanish and German: each member's private commands are answered in
    the language of the community whose reminder they were sent."""
    from tests.conftest import make_config, start_rig, write_policy

    write_policy(tmp_path / "policies", HEAD + "language: es\nreminder:\n  text: Hola\n")
    german = HEAD.replace("circulo", "kreis").replace("recuperacion", "genesung")
    write_policy(
        tmp_path / "policies", german + "language: de\nreminder:\n  text: Hallo\n", "kreis.yaml"
    )
    rig = await start_rig(make_config(tmp_path))
    try:
        await rig.say(":room recuperacion", ":join ana", ":room genesung", ":join jonas")
        assert (await rig.say(":dm ana /help")).startswith(
            "[only ana sees, #private chat with ana] Comandos que puedes usar:"
        )
        assert "Befehle, die du nutzen kannst:" in await rig.say(":dm jonas /help")
        assert "Commands you can use:" in await rig.say(":dm nobody /help")
    finally:
        await rig.app.close()
