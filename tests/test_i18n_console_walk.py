"""Spanish-, German- and French-speaking circles on the console: everything the bot says is
in their language.

The scenarios walk the whole member's and moderators' path (reminder, held post, agreement,
help, a leak flag, a check-in with crisis resources and a contact request, history, export,
schedule, reports, erase) and read every line the bot printed: none may hold an English
sentence of the bot's own. Names, the policy's own text, command words and the console's
narration of what a platform would show ("(alice's message was hidden from the room)") are
not the bot's sentences and are left out of the reading.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from tests.conftest import policy_rig

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import catalogs  # noqa: E402 (tools/ is not a package)

POLICY = """\
name: circulo
language: es
rooms:
  - platform: console
    name: recuperacion
moderators:
  - platform: console
    user: mod
alerts:
  - platform: console
    name: mods
reminder:
  text: Lo que se comparte aquí, se queda aquí.
  delivery: private
  require_agreement: true
leaks:
  retention_days: 30
  repeat:
    count: 1
    action: timeout
checkins:
  intro: >-
    Los check-ins son privados. Confidant guarda tus respuestas cifradas y solo tú
    puedes leerlas.
  retention_days: 90
  timeout_minutes: 20
  questions:
    - id: animo
      prompt: ¿Cómo está tu ánimo hoy?
      kind: scale
      min: 1
      max: 5
      labels: [muy bajo, bajo, regular, bueno, muy bueno]
    - id: dormir
      prompt: ¿Dormiste bien?
      kind: yesno
  crisis:
    keywords:
      es: [sin esperanza]
    thresholds:
      - question: animo
        at_most: 1
    resources:
      - name: Teléfono de la Esperanza
        number: "717 003 717"
  supporters:
    - platform: console
      user: sam
  supporters_room:
    platform: console
    name: apoyo
command_aliases: true
"""

SHARED = (
    "Recaí el fin de semana pasado después de que mi hermana me dijera que nunca quiere "
    "volver a verme y no he dormido desde entonces"
)
QUOTE = (
    "sabes que recaí el fin de semana pasado después de que mi hermana me dijera que nunca "
    "quiere volver a verme"
)


Walk = tuple[tuple[str, ...], ...]


def scenarios(agree: str = "acepto", yes: str = "sí", no: str = "no") -> Walk:
    """The walk, with the check-in answered in the reply words of the language."""
    return (
        (":room recuperacion", ":join alice", ":join bob", "alice: hola a todos"),
        ("alice: /rules", "alice: /help", "alice: /nada", ":dm alice /agree", ":dm bob /agree"),
        ("alice: /rules", f"alice: {SHARED}", ":room lobby", f"bob: {QUOTE}"),
        (":room mods", "mod: /flags", "mod: /flag resolve 1", "mod: /flags", "mod: /help"),
        ("mod: /flag confirm-action 1", "mod: /flags bob", "mod: /flag confirm-action 9"),
        (":room recuperacion", ":dm alice /checkin", f":dm alice {agree}", ":dm alice 1"),
        (f":dm alice {yes}", f":dm alice {no}", f":dm alice {yes}", ":dm sam /claim 1"),
        (":dm alice /checkin history", ":dm alice /mydata", ":dm alice /checkin ahora"),
        (":dm alice /checkin schedule mon 09:00 Europe/Madrid", ":dm alice /checkin snooze 2"),
        (":dm alice /checkin schedule domingo 9 Europe/Madrid", ":dm alice /checkin snooze 999"),
        (":dm alice /checkin pause", ":dm alice /checkin resume", ":dm alice /checkin stop"),
        ("mod: /agreements", "mod: /policy reload", "mod: /checkin stats", "bob: /flags"),
        ("mod: /policy show", "mod: /flag resolve", "mod: /audit mucho"),
        (":dm alice /report", "mod: /answer 1 gracias", ":dm alice /forgetme"),
        (":dm alice /forgetme confirm",),
        # a member whose private messages are closed hears the fallback in the room; the
        # room's own words for commands (command_aliases) reach the same commands
        (":room recuperacion", ":dms-closed carol", ":join carol", "carol: hola"),
        ("carol: /normas", "carol: /ayuda", "mod: /avisos"),
    )


# Words no Spanish, German or French sentence of the bot's has; two of them in one line
# make an English sentence.
ENGLISH = re.compile(
    r"\b(the|you|your|is|are|to|of|and|this|with|please|thank|for|have|it|be|will)\b",
    re.IGNORECASE,
)
NOT_THE_BOTS = (
    "Lo que se comparte aquí, se queda aquí.",  # the policy's own text
    "Los check-ins son privados",
)


def _bot_lines(output: str) -> list[str]:
    """What the bot said, without the console's heads and its narration of platform UI."""
    said = []
    for line in output.splitlines():
        head, _, body = line.partition("] ") if line.startswith("[") else ("", "", line)
        if head.startswith("[console"):
            continue
        body = body.strip()
        if head.startswith("[#") and body.startswith("(") and body.endswith(")"):
            continue  # "(bob's message was hidden from the room)": the console's narration
        if body and not any(body.startswith(own) for own in NOT_THE_BOTS):
            said.append(body)
    return said


def _english_chunks() -> set[str]:
    """Every run of four or more words between placeholders in the English sentences that
    reads as English (not a command example such as "checkin schedule mon,thu 09:00")."""
    chunks: set[str] = set()
    for message in catalogs.read(catalogs.TEMPLATE):
        for msgid in (message.id,) if isinstance(message.id, str) else message.id or ():
            for piece in re.split(r"\{[^}]*\}", msgid or ""):
                if len(piece.split()) >= 4 and ENGLISH.search(piece):  # words, not an example
                    chunks.add(piece.strip())
    return chunks


async def _run(tmp: Path, policy: str = POLICY, words: tuple[str, str, str] = ()) -> str:
    async with policy_rig(tmp, policy) as rig:
        printed = []
        for lines in scenarios(*words):
            printed.append(await rig.say(*lines))
        return "".join(printed)


async def test_a_spanish_policy_hears_no_english_sentence_of_the_bots_own(tmp_path: Path) -> None:
    output = await _run(tmp_path)
    # the walk reached what it means to read, in Spanish
    for expected in (
        "Te damos la bienvenida a recuperacion",
        "Comandos que puedes usar:",
        "Posible filtración desde recuperacion (aviso 1)",
        "Filtración repetida: quien publicó el aviso 1 tiene 1 avisos confirmados",
        "No he podido fijar ese horario: no reconozco 'domingo' como día;",
        "Parece que ahora mismo las cosas están siendo difíciles",
        "Solicitud de contacto 1:",
        "Tus check-ins recientes",
        "Todo lo que Confidant guarda sobre ti",
        "Tu check-in está programado",
        "falta <id>. Uso: /flag <resolve|false-positive|show|confirm-action> <id>",
        "<límite> tiene que ser un número entero",
        "/checkin schedule <días> <hora> <zona> - un check-in privado periódico",
        "Gracias. Tu reporte (1) ya está con las personas moderadoras.",
        "Hecho: se ha borrado todo lo que Confidant guardaba sobre ti.",
        "/rules (/normas) - mostrar el recordatorio de confidencialidad de esta sala",
    ):
        assert expected in output
    said = _bot_lines(output)
    english = [line for line in said if len(ENGLISH.findall(line)) >= 2]
    assert english == []
    chunks = _english_chunks()
    quoted = [(chunk, line) for line in said for chunk in chunks if chunk in line]
    assert quoted == []


def test_the_reading_finds_an_english_sentence_when_there_is_one() -> None:
    """The check above can fail: the English reminder head is caught by both readings."""
    line = "[private → alice] Welcome to recuperacion. This room's confidentiality reminder:"
    [said] = _bot_lines(line)
    assert len(ENGLISH.findall("Please send /agree to confirm you will keep it.")) >= 2
    assert any(chunk in said for chunk in _english_chunks())


@pytest.mark.parametrize(
    ("lang", "words"),
    [("de", ("zustimmen", "ja", "nein")), ("fr", ("accepter", "oui", "non"))],
)
async def test_german_and_french_circles_walk_the_same_path_in_their_language(
    tmp_path: Path, lang: str, words: tuple[str, str, str]
) -> None:
    """The same walk, its check-in answered in German or French reply words: every step is
    reached (a reply word not understood would stop the check-in), no English sentence."""
    output = await _run(tmp_path, POLICY.replace("language: es", f"language: {lang}"), words)
    said = _bot_lines(output)
    english = [line for line in said if len(ENGLISH.findall(line)) >= 2]
    assert english == []
    chunks = _english_chunks()
    assert [(chunk, line) for line in said for chunk in chunks if chunk in line] == []
    finished = {"de": "Danke für deinen Check-in.", "fr": "Merci d'avoir fait le point."}
    assert finished[lang] in output
