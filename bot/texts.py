"""Everything the bot says, in one place, so the wording can be reviewed as a whole.

None of these functions accepts a member's message text: they can only describe where
something happened, which makes it impossible for a reply or alert to repeat it.
"""

from __future__ import annotations

from bot.commands import CommandSpec

AGREE_LABEL = "Agree"


def reminder_private(
    room_label: str, text: str, prefix: str, require_agreement: bool, buttons: bool = False
) -> str:
    lines = [
        f"Welcome to {room_label}. This room's confidentiality reminder:",
        "",
        text.strip(),
        "",
    ]
    if require_agreement:
        how = (
            f"press {AGREE_LABEL} below (or reply {prefix}agree)"
            if buttons
            else f"reply {prefix}agree"
        )
        lines.append(
            f"Please {how} to confirm you will keep it. "
            "Until then your posts in the room are held back."
        )
    lines.append(f"You can read this again at any time with {prefix}rules.")
    return "\n".join(lines)


def reminder_in_room(text: str, prefix: str, require_agreement: bool, buttons: bool = False) -> str:
    """``buttons``: the post carries the Agree button, the one way that works for a member
    held back in the room, who has no chat bar there to type a command in."""
    lines = ["Confidentiality reminder for this room:", "", text.strip(), ""]
    if require_agreement:
        how = f"press {AGREE_LABEL} below" if buttons else f"send {prefix}agree"
        lines.append(f"Please {how} to confirm you will keep it.")
    else:
        lines.append(f"Read it again at any time with {prefix}rules.")
    return "\n".join(lines)


def reminder_burst(
    names: list[str], text: str, prefix: str, require_agreement: bool, private_follows: bool
) -> str:
    """A join burst's room reminder, naming every newcomer it is for."""
    lines = [f"Welcome, {', '.join(names)}.", "", reminder_in_room(text, prefix, require_agreement)]
    if private_follows:
        lines += ["", "A private copy is on its way to each of you."]
    return "\n".join(lines)


def reminder_changed(reminder: str) -> str:
    """A re-ask after the policy's text changed says so first: the member agreed before,
    and is asked again because the words are new, not because of anything they did."""
    return "This room's confidentiality reminder has changed; please read it again.\n\n" + (
        reminder
    )


def rules_agreed(text: str) -> str:
    """/rules for a member who agreed to the current text: no second request to agree."""
    return (
        f"Confidentiality reminder for this room:\n\n{text.strip()}\n\n"
        "You have agreed to it. Thank you for keeping it."
    )


def rules_for(rooms: list[str], policy: str, text: str, prefix: str, asks: str) -> str:
    """One reminder in a private chat, named by its rooms and policy (a member of several
    communities must know which promise is which). ``asks``: ask, agreed or none."""
    where = ", ".join(rooms) or "your rooms"
    lines = [f"Confidentiality reminder for {where} (policy {policy}):", "", text.strip(), ""]
    if asks == "ask":
        lines.append(
            f"Please send {prefix}agree {policy} here to confirm you keep it (it covers {where})."
        )
    elif asks == "agreed":
        lines.append("You have agreed to it. Thank you for keeping it.")
    else:
        lines.append(f"Read it again at any time with {prefix}rules.")
    return "\n".join(lines)


def reminder_fallback(
    text: str, prefix: str, require_agreement: bool, buttons: bool = False
) -> str:
    return "I could not reach you privately, so here is this room's reminder.\n\n" + (
        reminder_in_room(text, prefix, require_agreement, buttons)
    )


def reminder_in_thread(
    text: str, prefix: str, require_agreement: bool, buttons: bool = False
) -> str:
    return (
        "I could not reach you privately, so here is this room's reminder in a thread only "
        "you and I can see.\n\n" + reminder_in_room(text, prefix, require_agreement, buttons)
    )


def reminder_owed(room_label: str, text: str, prefix: str, require_agreement: bool) -> str:
    """Attached to a member's next command when a private reminder could not reach them."""
    return f"I could not reach you privately, so here is the reminder for {room_label}.\n\n" + (
        reminder_in_room(text, prefix, require_agreement)
    )


def rules_message(text: str, prefix: str, buttons: bool) -> str:
    """The standing message of a room whose policy sends nothing privately."""
    how = f"press {AGREE_LABEL} below" if buttons else f"send {prefix}agree"
    return "\n".join(
        [
            "Confidentiality reminder for this room:",
            "",
            text.strip(),
            "",
            f"Please {how} to confirm you will keep it. You can read it again at any time "
            f"with {prefix}rules.",
        ]
    )


def agreed_with_reminder(new: bool, room_labels: list[str], text: str) -> str:
    """The answer to the Agree button: the reminder goes with it, for the member to keep."""
    head = agreed(room_labels) if new else already_agreed()
    return f"{head}\n\nThe reminder you agreed to:\n\n{text.strip()}"


def choice_gone() -> str:
    return "This button is no longer in use. Nothing was recorded."


def post_held_back_rules(prefix: str, buttons: bool) -> str:
    how = f"press {AGREE_LABEL} on this room's rules message" if buttons else f"send {prefix}agree"
    return f"please read this room's reminder ({prefix}rules) and {how} before posting."


def periodic_reminder(text: str, prefix: str) -> str:
    return f"A regular reminder of this room's promise:\n\n{text.strip()}\n\n({prefix}rules)"


def post_held_back(
    room_label: str, text: str, prefix: str, deleted: bool, buttons: bool = False
) -> str:
    """``deleted``: the post was removed; otherwise it stays in the room and the member is
    only reminded (never told it was hidden when it was not)."""
    how = f"Press {AGREE_LABEL} below (or send {prefix}agree)" if buttons else f"Send {prefix}agree"
    if not deleted:
        return (
            f"Your message in {room_label} is in the room, but members there agree to the "
            f"room's confidentiality reminder. Here it is:\n\n{text.strip()}\n\n{how} to "
            "confirm you will keep it."
        )
    return (
        f"Your message in {room_label} was removed because members agree to the room's "
        f"confidentiality reminder before posting. Nothing you wrote was kept.\n\n{text.strip()}"
        f"\n\n{how} to confirm, then post again."
    )


def post_held_back_in_room(prefix: str, buttons: bool = False) -> str:
    how = f"press {AGREE_LABEL} below" if buttons else f"send {prefix}agree"
    return f"please read this room's reminder ({prefix}rules) and {how} to confirm you keep it."


def agreed(room_labels: list[str], policies: list[str] | None = None) -> str:
    """``policies``: named where the room does not say it (a private chat)."""
    where = ", ".join(room_labels) if room_labels else "this room"
    if policies:
        which = ", ".join(policies)
        return f"Thank you. Your agreement to the reminder of {which} is recorded for {where}."
    return f"Thank you. Your agreement is recorded for {where}."


def already_agreed() -> str:
    return "You have already agreed to the current reminder. Thank you."


def agree_which(choices: list[tuple[str, list[str]]], prefix: str) -> str:
    """/agree in a private chat while several communities' reminders wait: which one?"""
    lines = ["Several confidentiality reminders wait for your agreement:"]
    lines += [f"  {name}: {', '.join(rooms) or 'your rooms'}" for name, rooms in choices]
    lines.append(
        f"Send {prefix}agree <policy> for the one you agree to (read each with {prefix}rules)."
    )
    return "\n".join(lines)


def nothing_to_agree(prefix: str) -> str:
    return (
        "There is no confidentiality reminder waiting for your agreement. "
        f"Run {prefix}agree in a room to agree to its reminder."
    )


def forgetme_confirm(prefix: str, still_in: list[str]) -> str:
    """Before the erase: what it takes, and what it means in rooms the member is still in."""
    text = (
        "This erases everything Confidant holds about you: check-ins and their "
        "answers, your check-in schedule, contact requests, reports to the moderators, "
        "agreements and reminders "
        "(you will be asked to agree again), and the fingerprints of what you wrote "
        "in confidential rooms. It cannot be undone."
    )
    if still_in:
        text += (
            f" You are still in {', '.join(still_in)}: right after the erase you will get its "
            "reminder again, and your posts there are held back until you agree again."
        )
    return f"{text} To go ahead, send {prefix}forgetme confirm"


def forgetme_done(still_in: list[str]) -> str:
    text = "Done: everything Confidant held about you is erased."
    if still_in:
        text += (
            f" You are still in {', '.join(still_in)}, so you are asked to agree to its "
            "reminder again; until you do, your posts there are held back."
        )
    return text


def no_policy_here(prefix: str) -> str:
    return f"This room has no confidentiality policy. Run {prefix}rules in a room that has one."


def sent_privately(said: str | None = None) -> str:
    """Said in the room only after the private message was delivered."""
    return said or "Sent to you privately."


_OPEN_PRIVATE = {
    "discord": (
        "allow direct messages from this server's members (the server's menu, Privacy "
        "Settings, Direct Messages)"
    ),
    "matrix": "accept my invitation to a private chat, or invite me to an encrypted one",
}


def private_not_delivered(platform: str, command: str) -> str:
    """A private answer the platform refused: said plainly, with no private content."""
    how = _OPEN_PRIVATE.get(platform, "allow private messages from me")
    return (
        f"I could not reach you privately, so nothing was sent. To get it, {how}, then "
        f"send {command} again."
    )


def answer_in_private_chat() -> str:
    """Said in the room, without the answer, when it waits in a chat not yet accepted."""
    return (
        "my answer is in our private chat: accept my invitation to read it (it is not "
        "repeated here)."
    )


def refused(command: str) -> str:
    return f"Only moderators can use {command}."


def help_text(specs: list[CommandSpec], prefix: str) -> str:
    lines = ["Commands you can use:"]
    lines += [f"  {spec.usage(prefix)} - {spec.description}" for spec in specs]
    return "\n".join(lines)


def unknown_command(word: str, prefix: str) -> str:
    return f"I do not know {prefix}{word}. Send {prefix}help for the commands you can use."


def policy_reload_failed(errors: tuple[str, ...], elsewhere: int = 0) -> str:
    lines = ["Policy reload failed; the last good policies keep running.", *errors[:20]]
    if len(errors) > 20:
        lines.append(f"(and {len(errors) - 20} more)")
    if elsewhere:
        lines.append(
            f"{elsewhere} error(s) in other communities' policy files; the admin sees them "
            "in the log."
        )
    return "\n".join(lines)


def refused_in_room(room_label: str, what: str, reason: str) -> str:
    return (
        f"in {room_label} the platform refused {what} ({reason}); nothing was reported as "
        "done, and what it was for is tried another way where the policy has one"
    )


def lacking_in_room(room_label: str, fix: str, needed_for: str) -> str:
    return f"in {room_label} the bot lacks {fix}, needed {needed_for}"


def adapter_problems(platform: str, problems: tuple[str, ...]) -> str:
    return f"Confidant on {platform} cannot do everything its policies ask:\n" + "\n".join(
        f"- {p}" for p in problems
    )


# -- leak flagging: where, from which room, how and how confidently; never what ----------

_HOW = {
    "forward": "a forward of a message from it",
    "link": "a link to a message in it",
    "reply": "a reply to a message in it",
    "quote": "a quote of what was said there",
}


def leak_confidence(signal: str, matched: int, whole_message: bool) -> str:
    if signal != "quote":
        return "certain (the platform says where it points)"
    if whole_message:
        return "the whole short message matches one there"
    return f"{matched} matching fingerprint{'s' if matched != 1 else ''}"


def leak_alert(
    flag_id: int,
    source_label: str,
    room_label: str,
    message_id: str,
    poster: str,
    signal: str,
    matched: int,
    whole_message: bool,
    prefix: str,
    removed: bool,
) -> str:
    """The moderators' alert: what, where and how sure, never what was said. The adapter
    adds links to the copy and the source room (AlertModerators.with_links)."""
    lines = [
        f"Possible leak from {source_label} (flag {flag_id}): {_HOW.get(signal, signal)}, "
        f"in {room_label}, message {message_id}, posted by {poster}.",
        f"Confidence: {leak_confidence(signal, matched, whole_message)}.",
    ]
    if removed:
        lines.append("The copy was removed from the room.")
    lines.append(
        f"{prefix}flag resolve {flag_id} when handled, or {prefix}flag false-positive "
        f"{flag_id} if it is ordinary phrasing."
    )
    return "\n".join(lines)


def relayed_poster(name: str) -> str:
    """Who posted a relayed copy: the name it was posted under, and that a relay (a proxy
    bot's webhook, a bridge) posted it, so moderators look up the person behind it there."""
    return f"{name} (posted through a relay, such as a proxy bot's webhook)"


def leak_reminder(
    room_label: str, source_label: str, removed: bool, prefix: str, held: bool = False
) -> str:
    """To the poster, privately, once for copies posted close together; it names rooms,
    never the message. Plain sentences: what happened, what to do, where to read the rule."""
    opening = f"Your message in {room_label} seems to repeat something from {source_label}, "
    if held and removed:
        done = (
            "a confidential room, so it was taken down until a moderator has looked at it. "
            "You will hear what they decide."
        )
    elif removed:
        done = (
            "a confidential room, so it was removed. If it did not repeat anything said "
            "there, you need not do anything more."
        )
    else:
        done = (
            "a confidential room. If it does repeat something said there, please delete it. "
            "If it does not, you need not do anything."
        )
    return (
        f"{opening}{done} What is shared in {source_label} stays there. To read its "
        f"reminder, send {prefix}rules in {source_label}."
    )


def leak_flags(lines: list[str]) -> str:
    if not lines:
        return "No open leak flags."
    return "Open leak flags, newest first:\n" + "\n".join(lines)


def leak_flag_line(
    flag_id: int,
    source_label: str,
    room_label: str,
    message_id: str,
    poster: str,
    signal: str,
    matched: int,
    whole_message: bool,
    copy_state: str,
    when: str,
) -> str:
    state = "" if copy_state == "posted" else f", copy {copy_state}"
    return (
        f"  {flag_id}: from {source_label}, {signal} in {room_label} (message {message_id}) "
        f"by {poster}, {when}; {leak_confidence(signal, matched, whole_message)}{state}"
    )


def leak_flag_missing(flag_id: int) -> str:
    return f"There is no open flag {flag_id} that you moderate."


def leak_flag_resolved(flag_id: int) -> str:
    return f"Flag {flag_id} is resolved."


def leak_flag_false_positive(flag_id: int, stopped: int) -> str:
    if stopped == 0:
        return (
            f"Flag {flag_id} is marked a false positive. It came from a forward, link or "
            "reply, so there was no phrasing to ignore."
        )
    return (
        f"Flag {flag_id} is marked a false positive; its {stopped} matching fingerprint"
        f"{'s are' if stopped != 1 else ' is'} ignored from now on."
    )


def audit_log(entries: list[tuple[str, str, str, str, str]]) -> str:
    if not entries:
        return "The audit log is empty."
    lines = ["Audit log, newest first:"]
    lines += [
        f"  {at} {platform}:{actor} {action}" + (f" ({detail})" if detail else "")
        for at, platform, actor, action, detail in entries
    ]
    return "\n".join(lines)


def leak_review_outcome(room_label: str, harmless: bool) -> str:
    """To the poster of a held copy, once a moderator decided. Still no message text."""
    if harmless:
        return (
            f"A moderator looked at your message in {room_label} that was held for review and "
            "found nothing confidential in it. Confidant kept no copy, so please post it again "
            "if you still want to."
        )
    return (
        f"A moderator looked at your message in {room_label} that was held for review; it "
        "stays removed because it seemed to repeat a confidential room. Thank you for "
        "keeping what is shared there where it was shared."
    )


# -- members' reports to moderators (/report) ------------------------------------------------


def report_alert(
    report_id: int, who: str | None, words: str | None, where: str, prefix: str
) -> str:
    """To the moderators. ``words`` is the one exception to "no member's text": what the
    member wrote *to the moderators* with /report, and only when they chose to; it goes out
    here and is kept nowhere. ``who`` is None for an anonymous report."""
    head = f"Report {report_id} from " + (who if who else "a member who asked to stay anonymous")
    lines = [f"{head}: {where}."]
    if words:
        lines += ["In their own words:", words]
    else:
        lines.append("They added no words of their own.")
    lines.append(
        f"Answer them privately with {prefix}answer {report_id} <your answer>"
        + ("" if who else " (they stay anonymous to you)")
        + "."
    )
    return "\n".join(lines)


def report_where(room_label: str | None, has_message: bool) -> str:
    if has_message:
        return "about the message linked below"
    if room_label:
        return f"about the room {room_label} (linked below)"
    return "not about one place in particular"


def report_sent(report_id: int, named: bool, prefix: str) -> str:
    who = (
        "They can see that it came from you, because you chose that."
        if named
        else "They do not see who you are."
    )
    return (
        f"Thank you. Your report ({report_id}) is with the moderators. {who} "
        "Confidant did not keep your words. If a moderator answers, the answer comes to your "
        "private messages with Confidant, so please keep them open for this server or room. "
        f"You can see your reports with {prefix}mydata."
    )


def report_seen_in_room(prefix: str) -> str:
    return (
        f"This room could see the {prefix}report line you typed. Next time, send it in your "
        "private chat with me, where nobody else reads it."
    )


def report_limited(per_hour: int, minutes: int) -> str:
    return (
        f"You have sent {per_hour} report{'s' if per_hour != 1 else ''} in the last hour, "
        "which is as many as this room takes at once, so this one was not sent. Your earlier "
        f"reports are with the moderators. You can send another in about {minutes} "
        f"minute{'s' if minutes != 1 else ''}. If you need help now, please write to a "
        "moderator directly, or use the crisis resources your community lists."
    )


def report_nobody(prefix: str) -> str:
    return (
        "I could not tell which moderators to send this to. Please send "
        f"{prefix}report in the room it is about, or add a link to a message there."
    )


def report_bad_link(prefix: str) -> str:
    return (
        "I could not read that link. Copy the message's link (its menu has Copy Link or "
        f"Share) and send {prefix}report again with it, or send {prefix}report in the room "
        "itself."
    )


def report_off() -> str:
    return "Reports to the moderators are turned off for this room. Please write to a moderator."


def report_answer_to_member(report_id: int, answer: str) -> str:
    return f"A moderator answered your report {report_id}:\n\n{answer}"


def report_answer_sending(report_id: int, thread: bool = False) -> str:
    instead = (
        "If those are closed, it goes to a private thread with them in the room they "
        "reported from; if that fails too, "
        if thread
        else "If it cannot be delivered, "
    )
    return (
        f"Your answer to report {report_id} is on its way to the member's private messages. "
        f"{instead}the moderators' room is told; nothing is posted anywhere else."
    )


def report_answer_undelivered(report_id: int, prefix: str) -> str:
    return (
        f"The answer to report {report_id} could not be delivered: the member does not accept "
        "private messages from Confidant. It was not posted anywhere else and not kept; try "
        f"again later with {prefix}answer {report_id} <your answer>."
    )


def report_unknown(report_id: int) -> str:
    return f"There is no report {report_id} among the reports you moderate."


def unencrypted_private_chat() -> str:
    """Said once in a member's private chat with the bot that is not end-to-end encrypted.
    It holds nothing private: everything private goes to the encrypted chat named here."""
    return (
        "This chat is not encrypted, so I send nothing private here: I have opened an "
        "encrypted private chat with you (accept its invitation if you have not yet)."
    )


# -- a copy held for review, read once by a moderator (bot/leaks_flow/held.py) -----------


def held_copy_shown(flag_id: int, source_label: str, room_label: str, text: str) -> str:
    """The one place a held copy's words go: to the moderator who asked, privately."""
    return (
        f"The copy held for flag {flag_id} (in {room_label}, seemingly from {source_label}). "
        "It is shown this once and is now destroyed; do not repeat it elsewhere.\n\n" + text
    )


def held_copy_gone(flag_id: int) -> str:
    return (
        f"Flag {flag_id} has no held copy to show: it was already shown, its review time is "
        "up, the flag was closed, or nothing was held."
    )


def _hours(hours: float) -> str:
    whole = int(hours) if float(hours).is_integer() else hours
    return f"{whole} hour{'s' if whole != 1 else ''}"


def held_copy_alert_line(flag_id: int, prefix: str, hours: float) -> str:
    """Added to the alert of a held copy: how a moderator reads it, and for how long."""
    return (
        f"The copy is kept sealed for review: {prefix}flag show {flag_id} shows it to you "
        f"once, privately, within {_hours(hours)}."
    )


def held_copy_poster_note(hours: float) -> str:
    """Added to the poster's reminder: what happens to their removed words."""
    return (
        f" Your message is kept sealed for at most {_hours(hours)} so that one moderator can "
        "read it once; then it is destroyed."
    )


def held_copy_undelivered(flag_id: int, prefix: str) -> str:
    """Said where the moderator asked, without the copy: it is never shown in a room."""
    return (
        f"The held copy of flag {flag_id} could not be sent to you privately (your private "
        "messages from me are closed), and it is never shown in a room. It was read out of "
        f"storage for you, so it is gone now; {prefix}flag resolve or {prefix}flag "
        f"false-positive {flag_id} still close the flag."
    )


def leak_review_harmless_after_hold(room_label: str) -> str:
    """To the poster of a held copy found harmless: the sealed copy went with the review."""
    return (
        f"A moderator looked at your message in {room_label} that was held for review and "
        "found nothing confidential in it. Confidant kept it only sealed, for the review, and "
        "has now destroyed it, so please post it again if you still want to."
    )


def unknown_in_group(name: str, prefix: str, specs: list[CommandSpec], default: str | None) -> str:
    """``name`` is a group's word and a word none of its commands has ("checkin now")."""
    group, word = name.split(" ", 1)
    lines = [f"{prefix}{group} has no command '{word}'. Usage:"]
    for spec in sorted(specs, key=lambda s: s.name != default):
        usage = spec.usage(prefix)
        if spec.name == default:
            usage = f"{prefix}{group} (or {usage})"
        lines.append(f"  {usage} - {spec.description}")
    return "\n".join(lines)


def policy_reloaded_after_failure() -> str:
    """To the moderators' rooms that were told a reload failed, once the files load again."""
    return "Policies reloaded: the policy files load without errors again and are in use now."


def leak_parts_line(parts: tuple[str, ...]) -> str:
    """Under a leak alert for a quote posted over several messages: every part, so the
    moderators look at (and, where they act, remove) all of them, not only the last."""
    return f"Posted in {len(parts)} parts: messages {', '.join(parts)}."


def leak_flag_parts_note(parts: tuple[str, ...]) -> str:
    """After a /flags line whose copy was posted in parts: all of them, oldest first."""
    return f"; posted in {len(parts)} parts: messages {', '.join(parts)}"


# -- read-gated rooms (reminder.gate: read) ------------------------------------------------
def read_gate_reminder(room_label: str, text: str, prefix: str, buttons: bool) -> str:
    """To a member who asked to read a read-gated room: the promise comes before they read
    anything members shared there."""
    how = (
        f"press {AGREE_LABEL} below (or reply {prefix}agree)" if buttons else f"reply {prefix}agree"
    )
    return "\n".join(
        [
            f"Before you can read {room_label}, please read its confidentiality reminder:",
            "",
            text.strip(),
            "",
            f"If you will keep it, {how}, and I will let you in.",
        ]
    )


def read_gate_in_welcome(room_label: str, text: str, prefix: str, buttons: bool) -> str:
    """The same, in the policy's welcome room, for a member whose private messages are closed."""
    how = f"Press {AGREE_LABEL}" if buttons else f"Send {prefix}agree here"
    return "\n".join(
        [
            f"I could not reach you privately. Before you can read {room_label}, please read "
            "its confidentiality reminder:",
            "",
            text.strip(),
            "",
            f"{how} if you will keep it, and I will let you in.",
        ]
    )


def access_granted(room_label: str, by_invite: bool = False) -> str:
    """Said only once the platform has opened the room to the member (where that is an
    invite, it still has to be accepted: saying "you can now read" would not be true yet)."""
    if by_invite:
        return (
            f"You are invited to {room_label}: accept the invitation and you can read it. "
            "Thank you for keeping what is shared there."
        )
    return f"You can now read {room_label}. Thank you for keeping what is shared there."


def not_a_read_gated_room(room_label: str) -> str:
    """To a member who asked the bot to let them into a room it does not gate (or does not
    know): nothing is said about what the room is or who is in it."""
    return (
        f"{room_label} is not a room I let people into. Ask its moderators, or check the "
        "room's address."
    )


def read_gate_unsafe(room_label: str, problems: str) -> str:
    """The adapter's check of a read-gated room's settings, for its moderators."""
    return f"the read gate of {room_label} is not as the policy asks: {problems}"


def access_suspended(room_label: str) -> str:
    """Said after a changed text took a member's access away (reask: suspend)."""
    return (
        f"The confidentiality reminder of {room_label} has changed, so you cannot read it "
        "until you agree to the new one."
    )
