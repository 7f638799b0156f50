"""A member's data rights: /mydata exports everything Confidant holds about them, and
/forgetme erases it after a confirmation.

Both are written to the audit log without content and under no policy: a member's own
data rights are nobody's community business, so no moderator reads them in /audit (the
admin does, with ``confidant audit``). The erase also removes the member's own earlier
audit rows (they name the member), so its record names nobody.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from bot import reminding, texts
from bot.actions import Action, Attachment
from bot.checkins import questions as q
from bot.checkins.commands import Args, privately
from bot.events import CommandInvoked
from bot.i18n import t
from bot.leaks import author_key

if TYPE_CHECKING:
    from bot.checkins.flow import Checkins

EXPORT_CHECKINS = 100_000
EXPORT_NAME = "confidant-mydata.json"
EXPORT_TYPE = "application/json"


async def export(checkins: Checkins, platform: str, member_id: str) -> dict[str, Any]:
    """Everything about one member, check-in answers opened for them; nobody else's rows."""
    core = checkins.core
    data: dict[str, Any] = {"member": {"platform": platform, "id": member_id}}
    data.update(await core.store.member_records(platform, member_id))
    data["leak_flags_as_poster"] = [row["id"] for row in data.pop("leak_flags_as_poster")]
    items = []
    for checkin in await core.store.member_checkins(platform, member_id, EXPORT_CHECKINS):
        spec = checkins.spec(checkin.policy)
        by_id = {question.id: question for question in spec.questions} if spec else {}
        answers = []
        for row in await core.store.checkin_answers(checkin.id):
            entry: dict[str, Any] = {"question": row.question_id}
            question = by_id.get(row.question_id)
            if question is not None:
                entry["prompt"] = question.prompt
            if row.sealed is None:
                entry["skipped"] = True
            else:
                answer = checkins.sealer.open(checkin.id, row.question_id, row.sealed)
                entry["answer"] = q.shown(question, answer) if question else answer
            entry["at"] = row.answered_at.isoformat()
            answers.append(entry)
        items.append(
            {
                "id": checkin.id,
                "policy": checkin.policy,
                "status": checkin.status,
                "started_at": checkin.started_at.isoformat(),
                "ended_at": checkin.ended_at.isoformat() if checkin.ended_at else None,
                "asked_for_contact": checkin.asked_contact,
                "answers": answers,
            }
        )
    data["checkins"] = items
    if core.reports is not None:  # reports to moderators: no words were kept
        data["reports"] = await core.reports.export(platform, member_id)
    data["contact_requests"] = [
        {
            "id": r.id,
            "reason": r.reason,
            "answers_shared": r.shared,
            "created_at": r.created_at.isoformat(),
            "claimed": r.claimed_by is not None,
        }
        for r in await core.store.member_escalations(platform, member_id)
    ]
    key = core.leak_key
    data["fingerprints_linked"] = (
        await core.store.count_author_fingerprints(author_key(key, platform, member_id))
        if key is not None
        else 0
    )
    return data


async def cmd_mydata(checkins: Checkins, event: CommandInvoked, _: Args) -> list[Action]:
    """The export as a JSON file in the private chat: a file the member can keep or hand
    on, where each platform shows it best (a Discord file, an encrypted Matrix file, a
    block on the console)."""
    who = event.invoker
    data = await export(checkins, who.platform, who.id)
    body = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True).encode("utf-8")
    await checkins.core.store.audit(
        who.platform, who.id, "mydata", "export sent", event.at, policy=None
    )
    text = t(
        "Everything Confidant holds about you is in the attached file {file} (JSON).",
        file=EXPORT_NAME,
    )
    return privately(checkins, event, text, Attachment(EXPORT_NAME, EXPORT_TYPE, body))


async def cmd_forgetme(checkins: Checkins, event: CommandInvoked, args: Args) -> list[Action]:
    """The erase takes the member's agreements too: where they are still in a room that
    asks for agreement, they are told so before confirming, and asked again right after
    (posting held back until they agree, as for any member who has not)."""
    core, who = checkins.core, event.invoker
    prefix = core.prefix(event.room.platform)
    still_in = await reminding.rooms_asking_agreement(core, who)
    labels = sorted({room.label for _, room in still_in})
    if args.get("confirm") != "confirm":
        return [core.reply(event, texts.forgetme_confirm(prefix, labels))]
    counts = await core.store.erase_member(who.platform, who.id)
    fingerprints = 0
    if core.leaks is not None:
        fingerprints = await core.leaks.erase_member(who.platform, who.id)
    if core.reports is not None:  # keyed, so erase_member cannot find them by id
        counts["member_reports"] = await core.reports.erase(who.platform, who.id)
    counts["alert_outbox"] = await core.alerts.erase(who)  # keyed too
    rows = sum(counts.values()) + fingerprints
    await core.store.audit(
        who.platform, "(erased member)", "forgetme", f"{rows} rows", event.at, policy=None
    )
    asked = await reminding.ask_again(core, who, still_in)
    return [core.reply(event, texts.forgetme_done(labels)), *asked]
