"""A Spanish-speaking circle on Discord, end to end, with the real App against the fake.

A member joins and hears the reminder privately with its Agree button (a newcomer whose
DMs are closed, in a private thread), agrees by pressing it, may then post; she runs
/checkin by the Spanish name her es-ES client shows, answers by buttons and a select menu,
meets the crisis resources and the offer of a peer supporter, reads her history; a quote of
a confidential message posted elsewhere reaches the moderators' channel as an alert; she
reports, the moderators answer, her own schedule brings a check-in, she erases everything
and is asked to agree again. Every word the bot sent anyone on the way (message contents,
button labels, select options, interaction answers, thread names, the reasons moderators
read in the server's audit log) is read against the English catalog: none may hold an
English sentence of the bot's own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import pytest

from bot import i18n
from bot.events import MessagePosted
from tests.discord_fake import FakeDiscord
from tests.discord_fake.permissions import CREATE_PRIVATE_THREADS
from tests.discord_fake.recorder import RecordedRequest
from tests.discord_fake.state import FakeChannel, FakeMessage, FakeUser
from tests.test_i18n_console_walk import ENGLISH, QUOTE, SHARED, _english_chunks, catalogs

from .conftest import AdapterScene
from .test_adapter_checkins import CHOICE, button_ids, dm_messages, next_dm, select_of
from .test_adapter_components import press

SPANISH_CIRCLE = """\
name: circle
language: es
rooms:
  - platform: discord
    name: circle
moderators:
  - platform: discord
    user: "{mod_id}"
alerts:
  - platform: discord
    name: mods
reminder:
  text:
    es: Lo que se comparte aquí, se queda aquí.
  delivery: private
  fallback: private_thread
  gate: post
checkins:
  intro:
    es: >-
      Los check-ins son privados. Confidant guarda tus respuestas cifradas y solo tú
      puedes leerlas.
  timeout_minutes: 20
  questions:
    - id: animo
      prompt:
        es: ¿Cómo está tu ánimo hoy?
      kind: scale
      min: 1
      max: 5
    - id: dormir
      prompt:
        es: ¿Dormiste bien?
      kind: yesno
  crisis:
    thresholds:
      - question: animo
        at_most: 1
    resources:
      - name:
          es: Teléfono de la Esperanza
        number: "717 003 717"
  supporters:
    - platform: discord
      user: "{mod_id}"
  supporters_room:
    platform: discord
    name: mods
"""
REMINDER = "Lo que se comparte aquí, se queda aquí."
INTRO = "Los check-ins son privados."
RESOURCE = "Teléfono de la Esperanza - 717 003 717"
# The policy's own words are not the bot's sentences (nor English here); what is left of a
# text after taking them out is what is read.
NOT_THE_BOTS = (REMINDER, INTRO, "¿Cómo está tu ánimo hoy?", "¿Dormiste bien?", RESOURCE)
AGREE_ID = "confidant:agree:circle"
SAID_KEYS = ("content", "label", "placeholder", "title", "description")
EPHEMERAL = 64


def said_in(body: Any) -> Iterator[str]:
    """Every text a member or moderator reads in a JSON body the bot sent: contents, labels,
    placeholders and descriptions, at any depth (components, options, follow-ups)."""
    if isinstance(body, dict):
        for key, value in body.items():
            if key in SAID_KEYS and isinstance(value, str):
                yield value
            else:
                yield from said_in(value)
    elif isinstance(body, list):
        for item in body:
            yield from said_in(item)


def everything_said(fake: FakeDiscord, since: int) -> list[str]:
    """What the bot sent to people since ``since``: posts, edits, interaction answers and
    follow-ups, thread names, and the reasons moderators read in the server's audit log.
    The command registration (English names with their localizations) is the bot
    describing itself to Discord, not a sentence to anyone, and is left out."""
    said: list[str] = []
    for call in fake.requests.items[since:]:
        if not isinstance(call, RecordedRequest):
            continue
        if "X-Audit-Log-Reason" in call.headers:  # shown in the server's audit log
            said.append(unquote(call.headers["X-Audit-Log-Reason"]))
        if call.method not in ("POST", "PATCH"):
            continue
        if call.path.startswith("/applications/"):
            continue
        said.extend(said_in(call.json))
        if call.path.endswith("/threads"):  # a thread's name shows in the channel list
            said.append(call.json["name"])
    return said


def english_only() -> set[str]:
    """The catalog's whole English sentences and words (a button's "Agree", "skip") that
    Spanish says otherwise: a label too short to read as English is caught by being one."""
    found = set()
    for message in catalogs.read(catalogs.TEMPLATE):
        msgid = message.id
        if isinstance(msgid, str) and msgid and not message.context and "{" not in msgid:
            found |= {msgid} - {i18n.translate("es", msgid)}
    return found


def english_in(said: list[str]) -> list[tuple[str, str]]:
    """(what reads as English, the text it was in), read as the console walk reads it, and
    any text that is a whole English sentence or word of the catalog."""
    chunks, whole = _english_chunks(), english_only()
    found = [(text, text) for text in said if text.strip() in whole]
    for text in said:
        for own in NOT_THE_BOTS:
            text = text.replace(own, " ")
        for line in text.splitlines():
            if len(ENGLISH.findall(line)) >= 2:
                found.append((line, text))
            found.extend((chunk, text) for chunk in chunks if chunk in line)
    return found


def stored(fake: FakeDiscord, channel: FakeChannel) -> list[FakeMessage]:
    bot_id = fake.world.bot_user.id
    return [
        m for m in fake.world.messages.values()
        if m.channel_id == channel.id and m.author_id == bot_id
    ]


def labels(message: FakeMessage) -> list[str]:
    return [
        c["label"] for row in message.components for c in row["components"] if c["type"] == 2
    ]


async def posted(rig: Any, message: FakeMessage) -> None:
    """Until the core got ``message`` (a member's post, fingerprinted if the room is covered)."""
    await rig.wait_for_event(
        lambda e: isinstance(e, MessagePosted) and e.message_id == str(message.id)
    )


async def slash(
    fake: FakeDiscord, user: FakeUser, channel: FakeChannel, name: str, **kwargs: Any
) -> str:
    """A slash command picked by the name ``user``'s client shows; its ephemeral answer."""
    interaction = await fake.events.slash_command(name, user=user, channel=channel, **kwargs)
    route = f"/interactions/{interaction.id}/{interaction.token}/callback"
    [callback] = await fake.wait_for_call("POST", route)
    assert callback.json["data"]["flags"] == EPHEMERAL
    return str(callback.json["data"]["content"])


async def test_a_spanish_circle_walks_join_agree_checkin_history_and_a_leak_in_spanish(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    scene, mod, alice = adapter_scene, adapter_scene.mod, adapter_scene.alice
    fake.world.grant_bot(scene.guild, CREATE_PRIVATE_THREADS)  # for the thread fallback
    rig = await start_app(policy=SPANISH_CIRCLE)
    begin = fake.requests.mark()  # after the command registration
    for who in (mod, alice):
        who.locale = "es-ES"

    # she joins: the reminder in her DM, in Spanish, with a Spanish Agree button
    lucia = fake.world.add_user("lucia")
    lucia.locale = "es-ES"
    dm = fake.world.open_dm(lucia)
    mark = fake.requests.mark()
    await fake.events.member_add(scene.guild, lucia)
    reminder = await next_dm(fake, dm, mark)
    assert reminder.content.startswith("Te damos la bienvenida a circle.")
    assert REMINDER in reminder.content
    assert "Pulsa Acepto aquí abajo" in reminder.content
    assert button_ids(reminder) == [AGREE_ID]
    assert labels(reminder) == ["Acepto"]
    [hold] = await fake.wait_for_call(
        "PUT", f"/channels/{scene.circle.id}/permissions/{lucia.id}", since=mark
    )
    # the reason the moderators read in the server's audit log
    assert unquote(hold.headers["X-Audit-Log-Reason"]) == (
        "Confidant: los miembros publican tras aceptar el recordatorio de confidencialidad "
        "de la sala"
    )

    # another newcomer whose DMs are closed: the reminder in a private thread of the room
    # that only he sees, its name in Spanish too (it shows in his channel list)
    pablo = fake.world.add_user("pablo", accepts_dms=False)
    pablo.locale = "es-ES"
    mark = fake.requests.mark()
    await fake.events.member_add(scene.guild, pablo)
    [created] = await fake.wait_for_call(
        "POST", f"/channels/{scene.circle.id}/threads", since=mark
    )
    assert created.json["name"] == "recordatorio de confidencialidad"
    [thread] = [
        c for c in fake.world.channels.values()
        if c.parent_id == scene.circle.id and c.is_thread
    ]
    [in_thread] = await fake.wait_for_call("POST", f"/channels/{thread.id}/messages")
    assert in_thread.json["content"].startswith(
        f"<@{pablo.id}> No he podido escribirte en privado, así que aquí tienes el recordatorio"
    )
    assert [c["label"] for row in in_thread.json["components"] for c in row["components"]] == [
        "Acepto"
    ]

    # she presses it: thanked in Spanish, and her posting is no longer held
    mark = fake.requests.mark()
    callback = await press(fake, reminder, AGREE_ID, lucia)
    assert callback["data"]["flags"] == EPHEMERAL
    thanks = callback["data"]["content"]
    assert thanks.startswith("Gracias. Tu aceptación queda registrada para circle.")
    await fake.wait_for_call(
        "DELETE", f"/channels/{scene.circle.id}/permissions/{lucia.id}", since=mark
    )
    hello = await fake.events.message_create(scene.circle, lucia, "hola a todas")  # may post
    await posted(rig, hello)

    # /checkin empezar, as her client names it: a pointer there, the intro in her DM
    mark = fake.requests.mark()
    with pytest.raises(LookupError):  # her client has no /checkin start
        await fake.events.slash_command("checkin", user=lucia, channel=scene.circle,
                                        subcommand="start")
    pointer = await slash(fake, lucia, scene.circle, "checkin", subcommand="empezar")
    assert pointer == "Tu check-in sigue en nuestro chat privado."
    intro = await next_dm(fake, dm, mark)
    assert intro.content.startswith("Check-in privado")
    assert INTRO in intro.content
    assert "¿Aceptas hacer el check-in en estas condiciones?" in intro.content
    assert labels(intro) == ["acepto", "no acepto"]
    mark = fake.requests.mark()
    await press(fake, intro, f"{CHOICE}{lucia.id}:agree", lucia)
    first = await next_dm(fake, dm, mark)
    assert first.content.startswith("Pregunta 1 de 2: ¿Cómo está tu ánimo hoy?")
    menu = select_of(first)  # seven choices: a select menu, its options in Spanish
    assert [o["label"] for o in menu["options"]] == ["1", "2", "3", "4", "5", "saltar", "parar"]

    # the lowest mood: the resources, then the offer of a peer supporter
    mark = fake.requests.mark()
    await press(fake, first, menu["custom_id"], lucia, component_type=3, values=["1"])
    resources, offer = await dm_messages(fake, dm, mark, 2)
    assert resources.content.startswith("Parece que ahora mismo las cosas están siendo difíciles")
    assert RESOURCE in resources.content
    assert offer.content.startswith("¿Quieres que una persona de apoyo se ponga en contacto")
    assert labels(offer) == ["sí", "no"]
    mark = fake.requests.mark()
    await press(fake, offer, f"{CHOICE}{lucia.id}:yes", lucia)
    share = await next_dm(fake, dm, mark)
    assert share.content.startswith("¿Debería ver tus respuestas de este check-in?")
    mark = fake.requests.mark()
    await press(fake, share, f"{CHOICE}{lucia.id}:no", lucia)
    told, second = await dm_messages(fake, dm, mark, 2)
    assert "Se pedirá a una persona de apoyo que se ponga en contacto contigo" in told.content
    assert second.content.startswith("Pregunta 2 de 2: ¿Dormiste bien?")
    assert labels(second) == ["sí", "no", "saltar", "parar"]
    mark = fake.requests.mark()
    await press(fake, second, f"{CHOICE}{lucia.id}:yes", lucia)
    done = await next_dm(fake, dm, mark)
    assert done.content.startswith("Gracias por hacer el check-in.")
    [request] = [
        str(c.json["content"])
        for c in fake.calls("POST", f"/channels/{scene.mods.id}/messages", since=begin)
    ]
    assert request.startswith("Solicitud de contacto 1:")
    # a supporter takes it by the Spanish name; she hears who will reach out
    mark = fake.requests.mark()
    claimed = await slash(fake, mod, scene.mods, "atender", options={"id": 1})
    assert claimed.startswith("La solicitud 1 es tuya")
    coming = await next_dm(fake, dm, mark)
    assert coming.content.startswith("Una persona de apoyo,")

    # /checkin historial and /misdatos: pointers there, her entries and her file in the DM
    mark = fake.requests.mark()
    pointer = await slash(fake, lucia, scene.circle, "checkin", subcommand="historial")
    assert pointer == "Te lo he enviado en privado."
    history = await next_dm(fake, dm, mark)
    assert history.content.startswith("Tus check-ins recientes")
    assert "(completado): ¿Cómo está tu ánimo hoy? 1; ¿Dormiste bien? sí" in history.content
    mark = fake.requests.mark()
    assert await slash(fake, lucia, scene.circle, "misdatos") == "Te lo he enviado en privado."
    mydata = await next_dm(fake, dm, mark)
    assert mydata.content.startswith("Todo lo que Confidant guarda sobre ti está en el archivo")

    # a quote of her words in #lobby: an alert in #mods in Spanish, a reminder to the poster
    shared = await fake.events.message_create(scene.circle, lucia, SHARED)
    await posted(rig, shared)
    alice_dm = fake.world.open_dm(alice)
    mark = fake.requests.mark()
    await fake.events.message_create(scene.lobby, alice, QUOTE)
    [alert] = await fake.wait_for_call("POST", f"/channels/{scene.mods.id}/messages", since=mark)
    text = alert.json["content"]
    assert text.startswith("Posible filtración desde circle (aviso 1): una cita de algo")
    assert "Certeza:" in text
    assert not any(word in text for word in ("hermana", "recaí", "dormido"))
    [nudge] = await fake.wait_for_call("POST", f"/channels/{alice_dm.id}/messages", since=mark)
    assert nudge.json["content"].startswith("Tu mensaje en lobby parece repetir algo de circle")
    listed = await slash(fake, mod, scene.mods, "avisos")
    assert listed.startswith("Avisos de filtración abiertos")
    resolved = await slash(fake, mod, scene.mods, "aviso", options={"acción": "resolve", "id": 1})
    assert resolved == "El aviso 1 está resuelto."
    helped = await slash(fake, lucia, scene.circle, "ayuda")
    assert helped.startswith("Comandos que puedes usar:")
    # each command exactly as her client names it: she would look for /rules in vain
    assert "\n  /normas - mostrar el recordatorio" in helped
    assert "\n  /checkin historial - " in helped
    assert "\n  /misdatos - " in helped
    assert "/rules" not in helped and "/mydata" not in helped

    # a report to the moderators and their answer, both ways in Spanish
    mark = fake.requests.mark()
    options: dict[str, str | int] = {"palabras": "me siento incómoda"}
    reported = await slash(fake, lucia, scene.circle, "reportar", options=options)
    assert reported.startswith("Gracias. Tu reporte (1) ya está con las personas moderadoras.")
    [report] = await fake.wait_for_call(
        "POST", f"/channels/{scene.mods.id}/messages", since=mark
    )
    assert report.json["content"].startswith("Reporte 1 de un miembro que pidió seguir en")
    # no moderator's client is known in a channel post: the Spanish name, the declared beside
    assert "con /responder (/answer) 1 <tu respuesta>" in report.json["content"]
    mark = fake.requests.mark()
    options = {"id": 1, "texto": "gracias, lo miramos"}
    answered = await slash(fake, mod, scene.mods, "responder", options=options)
    assert answered.startswith("Tu respuesta al reporte 1 va de camino")
    reply = await next_dm(fake, dm, mark)
    assert reply.content.startswith("Una persona moderadora ha respondido a tu reporte 1:")
    agreements = await slash(fake, mod, scene.mods, "aceptaciones")
    assert "1 de 5 miembros aceptaron el texto actual" in agreements
    stats = await slash(fake, mod, scene.mods, "checkin", subcommand="estadísticas")
    assert stats.startswith("Check-ins (circle), por semana:")
    shown = await slash(fake, mod, scene.mods, "política", subcommand="mostrar",
                        options={"nombre": "circle"})
    assert shown.startswith("Política circle (policies/circle.yaml)\nsalas: discord:circle")
    # the audit log's head; its entries are the record as written (action words and
    # reasons, in English like the log lines, read by `confidant audit` too)
    audit = await slash(fake, mod, scene.mods, "registro")
    assert audit.startswith("Registro de auditoría, de lo más reciente a lo más antiguo:")

    # her own schedule: set, paused, resumed, and the check-in it brings on the clock
    async def checkin(sub: str, **options: str | int) -> str:
        """/checkin <sub> by its Spanish name: a pointer in #circle, the answer in her DM."""
        mark = fake.requests.mark()
        pointer = await slash(fake, lucia, scene.circle, "checkin", subcommand=sub,
                              options=options or None)
        assert pointer == "Te lo he enviado en privado."
        return (await next_dm(fake, dm, mark)).content

    set_for = await checkin("horario", **{"días": "daily", "hora": "10:00", "zona": "UTC"})
    assert set_for.startswith("Tu check-in está programado: daily a las 10:00 (UTC)")
    assert "Próximo: lun 2026-01-05 10:00 UTC." in set_for
    assert (await checkin("pausar")).startswith("Los check-ins programados están en pausa.")
    assert "el próximo es lun 2026-01-05 10:00 UTC" in await checkin("reanudar")
    clock = rig.app.core.clock
    mark = fake.requests.mark()
    await clock.advance(datetime(2026, 1, 5, 10, 1, tzinfo=UTC) - clock.now())
    await rig.app.runtime.tick()
    time_for, question = await dm_messages(fake, dm, mark, 2)
    assert time_for.content == "Es la hora de tu check-in programado."
    assert question.content.startswith("Pregunta 1 de 2")
    mark = fake.requests.mark()
    await press(fake, question, select_of(question)["custom_id"], lucia, component_type=3,
                values=["stop"])
    stopped = await next_dm(fake, dm, mark)
    assert labels(stopped) == [] and stopped.content.startswith("Check-in terminado.")

    # she erases everything: asked first, then done, and the circle asks her again
    erase = await slash(fake, lucia, scene.circle, "olvidarme")
    assert erase.startswith("Esto borra todo lo que Confidant guarda sobre ti")
    mark = fake.requests.mark()
    erased = await slash(fake, lucia, scene.circle, "olvidarme",
                         options={"confirmar": "confirm"})
    assert erased.startswith("Hecho: se ha borrado todo lo que Confidant guardaba sobre ti.")
    again = await next_dm(fake, dm, mark)
    assert REMINDER in again.content and labels(again) == ["Acepto"]

    # a command the core could not answer just now: the platform's apology, in Spanish too
    async def broken(*_: Any) -> list[Any]:
        raise RuntimeError("the store is away for a moment")

    rig.app.core.add_command("rules", broken)
    sorry = await slash(fake, lucia, scene.lobby, "normas")  # held in #circle again
    assert sorry.startswith("Lo siento")

    # everything the bot sent her, the moderators and the poster: no English sentence
    said = everything_said(fake, begin)
    said.remove(audit)  # its entries are the stored record (see above); its head was read
    assert len(said) >= 30
    assert english_in(said) == []
    assert fake.unexpected_calls() == []


def test_the_reading_finds_the_english_sentences_it_is_there_for() -> None:
    """The reading above can fail: the English thanks and a check-in's English button."""
    said = ["Thank you. Your agreement is recorded for circle.", "Agree", "skip"]
    assert {text for text, _ in english_in(said)} >= set(said)
    assert english_in(["Acepto", "saltar", "no", "1"]) == []
    callback = {"type": 4, "data": {"content": "Gracias.", "components": [{"components": [
        {"type": 2, "label": "Please send /agree to confirm you will keep it."}
    ]}]}}
    assert english_in(list(said_in(callback))) != []
