"""The reminder's version with a text per language: members agree to the words they read,
so an edit of any language's text asks them again; one text keeps the version earlier
releases stored, so an upgrade asks nobody again."""

from __future__ import annotations

from pathlib import Path

from bot.policy import load_policy_text
from tests.conftest import POLICY, ConsoleRig, make_config, start_rig, write_policy

CHANGED = "[private → alice] This room's confidentiality reminder has changed"
EN = "What is shared here stays here."
ES = "Lo que se comparte aquí, se queda aquí."
ES_NEW = "Lo que se comparte aquí no sale de aquí."
# The hash earlier releases stored for EN (tests/test_migrations_upgrade.py keeps such rows).
EN_HASH = "1dcfce458e9c6b55"
SINGLE = f"  text: {EN}\n"
PER_LANGUAGE = POLICY.replace(SINGLE, f"  text:\n    en: {EN}\n    es: {ES}\n")
READ_GATED = PER_LANGUAGE.replace("  require_agreement: true\n", "  gate: read\n  reask: suspend\n")
RULES = PER_LANGUAGE.replace("delivery: private", "delivery: rules_message")


async def started(tmp: Path, policy: str) -> ConsoleRig:
    write_policy(tmp / "policies", policy)
    return await start_rig(make_config(tmp))


async def edit(rig: ConsoleRig, tmp: Path, old: str, new: str) -> str:
    """Edit the policy file as a moderator would and reload it."""
    path = tmp / "policies" / "circle.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    return await rig.say("mod: /policy reload")


def test_one_text_keeps_the_version_earlier_releases_stored() -> None:
    single = load_policy_text(POLICY, "circle.yaml")
    assert single.reminder_version == single.reminder.text_hash == EN_HASH
    # the same text written as a one-language map is the same version: nobody is asked
    mapped = load_policy_text(POLICY.replace(SINGLE, f"  text:\n    en: {EN}\n"), "circle.yaml")
    assert mapped.reminder_version == EN_HASH


def test_every_language_text_makes_the_version() -> None:
    both = load_policy_text(PER_LANGUAGE, "circle.yaml")
    assert both.reminder.text == EN and both.reminder.text_hash == EN_HASH
    assert both.reminder_version != EN_HASH  # the Spanish words are part of it
    edited = load_policy_text(PER_LANGUAGE.replace(ES, ES_NEW), "circle.yaml")
    assert edited.reminder.text_hash == EN_HASH  # the English text did not change...
    assert edited.reminder_version != both.reminder_version  # ...the version did
    # whitespace that changes nothing, in any language, is the same version
    spaced = PER_LANGUAGE.replace(f"es: {ES}", f'es: "  {ES}\\r\\n"')
    assert load_policy_text(spaced, "circle.yaml").reminder_version == both.reminder_version
    # the languages' order in the file does not matter
    swapped = POLICY.replace(SINGLE, f"  text:\n    es: {ES}\n    en: {EN}\n")
    assert load_policy_text(swapped, "circle.yaml").reminder_version == both.reminder_version


async def test_an_agreement_stored_under_one_text_still_counts(tmp_path: Path) -> None:
    rig = await started(tmp_path, POLICY)
    try:
        await rig.say(":join alice", ":dm alice /agree")
        assert await rig.app.store.has_agreed("console", "alice", "circle", EN_HASH)
        assert await rig.app.store.was_reminded("console", "recovery", "alice", "circle", EN_HASH)
        assert await rig.say(":leave alice", ":join alice", "alice: hi") == ""
    finally:
        await rig.app.close()


async def test_editing_only_the_spanish_text_asks_again(tmp_path: Path) -> None:
    rig = await started(tmp_path, PER_LANGUAGE)
    try:
        await rig.say(":join alice", ":dm alice /agree")
        assert await rig.say("alice: hi") == ""
        before = await rig.say("mod: /policy show")
        out = await edit(rig, tmp_path, ES, ES_NEW)
        assert "Policies reloaded (changed)" in out
        assert CHANGED in out
        assert "hidden" in await rig.say("alice: hi")  # held until she agrees again
        after = await rig.say("mod: /policy show")
        assert "reminder text version:" in after
        version = load_policy_text(PER_LANGUAGE.replace(ES, ES_NEW), "circle.yaml")
        assert f"reminder text version: {version.reminder_version}" in after
        assert after != before
        await rig.say("alice: /agree")
        assert await rig.say("alice: hi") == ""
        # reminded once for the new version: a join again does not repeat it
        assert await rig.say(":leave alice", ":join alice") == ""
    finally:
        await rig.app.close()


async def test_a_whitespace_only_edit_asks_nobody(tmp_path: Path) -> None:
    rig = await started(tmp_path, PER_LANGUAGE)
    try:
        await rig.say(":join alice", ":dm alice /agree")
        out = await edit(rig, tmp_path, f"es: {ES}", f'es: "  {ES}  "')
        assert "Policies reloaded (changed)" in out  # the file did change...
        assert "[private → alice]" not in out  # ...the words did not
        assert await rig.say("alice: hi") == ""
    finally:
        await rig.app.close()


async def test_a_restart_after_a_spanish_edit_reminds_once(tmp_path: Path) -> None:
    first = await started(tmp_path, PER_LANGUAGE)
    await first.say(":join alice", ":dm alice /agree")
    await first.app.close()
    path = tmp_path / "policies" / "circle.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(ES, ES_NEW), encoding="utf-8")
    second = await start_rig(make_config(tmp_path))
    try:
        asked = second.out.getvalue()
        assert asked.count(CHANGED) == 1
    finally:
        await second.app.close()
    third = await start_rig(make_config(tmp_path))
    try:
        assert third.out.getvalue() == ""  # the re-ask went out; a restart does not repeat it
        assert "hidden" in await third.say("alice: hi")
    finally:
        await third.app.close()


async def test_read_gate_suspend_takes_access_after_a_spanish_edit(tmp_path: Path) -> None:
    rig = await started(tmp_path, READ_GATED)
    try:
        await rig.say(":join mod", ":join alice", ":dm alice /agree")
        assert await rig.app.store.has_access("console", "recovery", "alice")
        out = await edit(rig, tmp_path, ES, ES_NEW)
        assert "[#recovery] (alice can no longer read the room)" in out
        assert "mod can no longer read" not in out
        assert "[private → alice] The confidentiality reminder of recovery has changed" in out
        assert not await rig.app.store.has_access("console", "recovery", "alice")
        back = await rig.say(":dm alice /agree")
        assert "[#recovery] (alice can now read the room)" in back
    finally:
        await rig.app.close()


async def test_a_spanish_edit_edits_the_rules_message_and_holds_back_again(
    tmp_path: Path,
) -> None:
    rig = await started(tmp_path, RULES)
    try:
        await rig.say(":join alice", ":press alice Agree")
        assert await rig.say("alice: hi") == ""
        out = await edit(rig, tmp_path, ES, ES_NEW)
        # the room's message shows the English words, unchanged, yet it is a new version:
        # edited (so the next start does not take it for changed), and alice, who agreed
        # to the earlier version only, waits for her new agreement
        assert out.count("(edits message b1)") == 1
        assert "hidden" in await rig.say("alice: hi")
        assert "Thank you" in await rig.say(":press alice Agree")
        assert await rig.say("alice: hi") == ""
    finally:
        await rig.app.close()
    again = await start_rig(make_config(tmp_path))
    try:
        assert again.out.getvalue() == ""  # edited once, not at every start
    finally:
        await again.app.close()


async def test_the_removal_says_why_in_the_policys_language(tmp_path: Path) -> None:
    """What the platform shows with the removal (a Matrix kick's reason, in the room's
    timeline) is worded by the core in the policy's language, not the adapter's English."""
    spanish = READ_GATED.replace("name: circle\n", "name: circle\nlanguage: es\n", 1)
    rig = await started(tmp_path, spanish)
    try:
        await rig.say(":join mod", ":join alice", ":dm alice /agree")
        out = await edit(rig, tmp_path, ES, ES_NEW)
        assert (
            "[#recovery] (alice can no longer read the room) El recordatorio de "
            "confidencialidad de la sala ha cambiado. Acepta el nuevo para volver a leer la "
            "sala." in out
        )
        assert "Agree to the new one" not in out
    finally:
        await rig.app.close()
