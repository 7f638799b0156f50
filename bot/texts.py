"""Everything the bot says, in one place, so the wording can be reviewed as a whole.

None of these functions accepts a member's message text: they can only describe where
something happened, which makes it impossible for a reply or alert to repeat it.

Every sentence goes through the message catalogs (bot/i18n.py) whole, with named
placeholders: a variant (buttons or not, removed or not) is its own sentence rather than a
fragment spliced into another, because a translator cannot reorder pieces they never see
together. The language is the one the core speaks in for the event at hand.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot import i18n
from bot.commands import CommandSpec
from bot.i18n import N_, Number, t, tn

AGREE_LABEL = N_("Agree")  # the source text of the Agree button; agree_label() says it


def agree_label() -> str:
    """The Agree button's label, in the language the sentences around it use."""
    return t(AGREE_LABEL)


def _join(names: list[str]) -> str:
    return ", ".join(names)


def reminder_private(
    room_label: str, text: str, prefix: str, require_agreement: bool, buttons: bool = False
) -> str:
    lines = [
        t("Welcome to {room}. This room's confidentiality reminder:", room=room_label),
        "",
        text.strip(),
        "",
    ]
    if require_agreement:
        if buttons:
            lines.append(
                t(
                    "Please press {agree} below (or reply {prefix}agree) to confirm you will "
                    "keep it. Until then your posts in the room are held back.",
                    agree=agree_label(),
                    prefix=prefix,
                )
            )
        else:
            lines.append(
                t(
                    "Please reply {prefix}agree to confirm you will keep it. Until then your "
                    "posts in the room are held back.",
                    prefix=prefix,
                )
            )
    lines.append(t("You can read this again at any time with {prefix}rules.", prefix=prefix))
    return "\n".join(lines)


def reminder_in_room(text: str, prefix: str, require_agreement: bool, buttons: bool = False) -> str:
    """``buttons``: the post carries the Agree button, the one way that works for a member
    held back in the room, who has no chat bar there to type a command in."""
    lines = [t("Confidentiality reminder for this room:"), "", text.strip(), ""]
    if require_agreement and buttons:
        lines.append(
            t("Please press {agree} below to confirm you will keep it.", agree=agree_label())
        )
    elif require_agreement:
        lines.append(t("Please send {prefix}agree to confirm you will keep it.", prefix=prefix))
    else:
        lines.append(t("Read it again at any time with {prefix}rules.", prefix=prefix))
    return "\n".join(lines)


def reminder_burst(
    names: list[str], text: str, prefix: str, require_agreement: bool, private_follows: bool
) -> str:
    """A join burst's room reminder, naming every newcomer it is for."""
    lines = [
        t("Welcome, {names}.", names=_join(names)),
        "",
        reminder_in_room(text, prefix, require_agreement),
    ]
    if private_follows:
        lines += ["", t("A private copy is on its way to each of you.")]
    return "\n".join(lines)


def reminder_changed(reminder: str) -> str:
    """A re-ask after the policy's text changed says so first: the member agreed before,
    and is asked again because the words are new, not because of anything they did."""
    head = t("This room's confidentiality reminder has changed; please read it again.")
    return f"{head}\n\n{reminder}"


def rules_agreed(text: str) -> str:
    """/rules for a member who agreed to the current text: no second request to agree."""
    return "\n\n".join(
        [
            t("Confidentiality reminder for this room:"),
            text.strip(),
            t("You have agreed to it. Thank you for keeping it."),
        ]
    )


def rules_for(rooms: list[str], policy: str, text: str, prefix: str, asks: str) -> str:
    """One reminder in a private chat, named by its rooms and policy (a member of several
    communities must know which promise is which). ``asks``: ask, agreed or none."""
    if rooms:
        head = t(
            "Confidentiality reminder for {rooms} (policy {policy}):",
            rooms=_join(rooms),
            policy=policy,
        )
    else:
        head = t("Confidentiality reminder for your rooms (policy {policy}):", policy=policy)
    lines = [head, "", text.strip(), ""]
    if asks == "ask" and rooms:
        lines.append(
            t(
                "Please send {prefix}agree {policy} here to confirm you keep it (it covers "
                "{rooms}).",
                prefix=prefix,
                policy=policy,
                rooms=_join(rooms),
            )
        )
    elif asks == "ask":
        lines.append(
            t(
                "Please send {prefix}agree {policy} here to confirm you keep it (it covers "
                "your rooms).",
                prefix=prefix,
                policy=policy,
            )
        )
    elif asks == "agreed":
        lines.append(t("You have agreed to it. Thank you for keeping it."))
    else:
        lines.append(t("Read it again at any time with {prefix}rules.", prefix=prefix))
    return "\n".join(lines)


def reminder_fallback(
    text: str, prefix: str, require_agreement: bool, buttons: bool = False
) -> str:
    head = t("I could not reach you privately, so here is this room's reminder.")
    return f"{head}\n\n" + reminder_in_room(text, prefix, require_agreement, buttons)


def reminder_in_thread(
    text: str, prefix: str, require_agreement: bool, buttons: bool = False
) -> str:
    head = t(
        "I could not reach you privately, so here is this room's reminder in a thread only "
        "you and I can see."
    )
    return f"{head}\n\n" + reminder_in_room(text, prefix, require_agreement, buttons)


def reminder_owed(room_label: str, text: str, prefix: str, require_agreement: bool) -> str:
    """Attached to a member's next command when a private reminder could not reach them."""
    head = t(
        "I could not reach you privately, so here is the reminder for {room}.", room=room_label
    )
    return f"{head}\n\n" + reminder_in_room(text, prefix, require_agreement)


def rules_message(text: str, prefix: str, buttons: bool) -> str:
    """The standing message of a room whose policy sends nothing privately."""
    if buttons:
        ask = t(
            "Please press {agree} below to confirm you will keep it. You can read it again at "
            "any time with {prefix}rules.",
            agree=agree_label(),
            prefix=prefix,
        )
    else:
        ask = t(
            "Please send {prefix}agree to confirm you will keep it. You can read it again at "
            "any time with {prefix}rules.",
            prefix=prefix,
        )
    return "\n".join([t("Confidentiality reminder for this room:"), "", text.strip(), "", ask])


def agreed_with_reminder(new: bool, room_labels: list[str], text: str) -> str:
    """The answer to the Agree button: the reminder goes with it, for the member to keep."""
    head = agreed(room_labels) if new else already_agreed()
    return f"{head}\n\n" + t("The reminder you agreed to:") + f"\n\n{text.strip()}"


def choice_gone() -> str:
    return t("This button is no longer in use. Nothing was recorded.")


def post_held_back_rules(prefix: str, buttons: bool) -> str:
    if buttons:
        return t(
            "please read this room's reminder ({prefix}rules) and press {agree} on this "
            "room's rules message before posting.",
            prefix=prefix,
            agree=agree_label(),
        )
    return t(
        "please read this room's reminder ({prefix}rules) and send {prefix}agree before "
        "posting.",
        prefix=prefix,
    )


def periodic_reminder(text: str, prefix: str) -> str:
    head = t("A regular reminder of this room's promise:")
    return f"{head}\n\n{text.strip()}\n\n({prefix}rules)"


def post_held_back(
    room_label: str, text: str, prefix: str, deleted: bool, buttons: bool = False
) -> str:
    """``deleted``: the post was removed; otherwise it stays in the room and the member is
    only reminded (never told it was hidden when it was not)."""
    if deleted:
        head = t(
            "Your message in {room} was removed because members agree to the room's "
            "confidentiality reminder before posting. Nothing you wrote was kept.",
            room=room_label,
        )
        if buttons:
            ask = t(
                "Press {agree} below (or send {prefix}agree) to confirm, then post again.",
                agree=agree_label(),
                prefix=prefix,
            )
        else:
            ask = t("Send {prefix}agree to confirm, then post again.", prefix=prefix)
        return f"{head}\n\n{text.strip()}\n\n{ask}"
    head = t(
        "Your message in {room} is in the room, but members there agree to the room's "
        "confidentiality reminder. Here it is:",
        room=room_label,
    )
    if buttons:
        ask = t(
            "Press {agree} below (or send {prefix}agree) to confirm you will keep it.",
            agree=agree_label(),
            prefix=prefix,
        )
    else:
        ask = t("Send {prefix}agree to confirm you will keep it.", prefix=prefix)
    return f"{head}\n\n{text.strip()}\n\n{ask}"


def post_held_back_in_room(prefix: str, buttons: bool = False) -> str:
    if buttons:
        return t(
            "please read this room's reminder ({prefix}rules) and press {agree} below to "
            "confirm you keep it.",
            prefix=prefix,
            agree=agree_label(),
        )
    return t(
        "please read this room's reminder ({prefix}rules) and send {prefix}agree to confirm "
        "you keep it.",
        prefix=prefix,
    )


def agreed(room_labels: list[str], policies: list[str] | None = None) -> str:
    """``policies``: named where the room does not say it (a private chat)."""
    if policies and room_labels:
        return t(
            "Thank you. Your agreement to the reminder of {policies} is recorded for {rooms}.",
            policies=_join(policies),
            rooms=_join(room_labels),
        )
    if policies:
        return t(
            "Thank you. Your agreement to the reminder of {policies} is recorded for this "
            "room.",
            policies=_join(policies),
        )
    if room_labels:
        return t("Thank you. Your agreement is recorded for {rooms}.", rooms=_join(room_labels))
    return t("Thank you. Your agreement is recorded for this room.")


def already_agreed() -> str:
    return t("You have already agreed to the current reminder. Thank you.")


def agree_which(choices: list[tuple[str, list[str]]], prefix: str) -> str:
    """/agree in a private chat while several communities' reminders wait: which one?"""
    lines = [t("Several confidentiality reminders wait for your agreement:")]
    lines += [f"  {name}: {_join(rooms) or t('your rooms')}" for name, rooms in choices]
    lines.append(
        t(
            "Send {prefix}agree <policy> for the one you agree to (read each with "
            "{prefix}rules).",
            prefix=prefix,
        )
    )
    return "\n".join(lines)


def nothing_to_agree(prefix: str) -> str:
    return t(
        "There is no confidentiality reminder waiting for your agreement. Run {prefix}agree "
        "in a room to agree to its reminder.",
        prefix=prefix,
    )


def forgetme_confirm(prefix: str, still_in: list[str]) -> str:
    """Before the erase: what it takes, and what it means in rooms the member is still in."""
    parts = [
        t(
            "This erases everything Confidant holds about you: check-ins and their answers, "
            "your check-in schedule, contact requests, reports to the moderators, agreements "
            "and reminders (you will be asked to agree again), and the fingerprints of what "
            "you wrote in confidential rooms. It cannot be undone."
        )
    ]
    if still_in:
        parts.append(
            t(
                "You are still in {rooms}: right after the erase you will get its reminder "
                "again, and your posts there are held back until you agree again.",
                rooms=_join(still_in),
            )
        )
    parts.append(t("To go ahead, send {prefix}forgetme confirm", prefix=prefix))
    return " ".join(parts)


def forgetme_done(still_in: list[str]) -> str:
    parts = [t("Done: everything Confidant held about you is erased.")]
    if still_in:
        parts.append(
            t(
                "You are still in {rooms}, so you are asked to agree to its reminder again; "
                "until you do, your posts there are held back.",
                rooms=_join(still_in),
            )
        )
    return " ".join(parts)


def no_policy_here(prefix: str) -> str:
    return t(
        "This room has no confidentiality policy. Run {prefix}rules in a room that has one.",
        prefix=prefix,
    )


def sent_privately(said: str | None = None) -> str:
    """Said in the room only after the private message was delivered."""
    return said or t("Sent to you privately.")


def private_not_delivered(platform: str, command: str) -> str:
    """A private answer the platform refused: said plainly, with no private content."""
    if platform == "discord":
        return t(
            "I could not reach you privately, so nothing was sent. To get it, allow direct "
            "messages from this server's members (the server's menu, Privacy Settings, Direct "
            "Messages), then send {command} again.",
            command=command,
        )
    if platform == "matrix":
        return t(
            "I could not reach you privately, so nothing was sent. To get it, accept my "
            "invitation to a private chat, or invite me to an encrypted one, then send "
            "{command} again.",
            command=command,
        )
    return t(
        "I could not reach you privately, so nothing was sent. To get it, allow private "
        "messages from me, then send {command} again.",
        command=command,
    )


def answer_in_private_chat() -> str:
    """Said in the room, without the answer, when it waits in a chat not yet accepted."""
    return t(
        "my answer is in our private chat: accept my invitation to read it (it is not "
        "repeated here)."
    )


def refused(command: str) -> str:
    return t("Only moderators can use {command}.", command=command)


def help_text(
    specs: list[CommandSpec], prefix: str, aliases: Mapping[str, str] | None = None
) -> str:
    """``aliases``: a command's name in the language's words, shown after its usage where
    it differs (``!rules (!normas)``)."""
    lines = [t("Commands you can use:")]
    for spec in specs:
        alias = (aliases or {}).get(spec.name, spec.name)
        also = f" ({prefix}{alias})" if alias != spec.name else ""
        lines.append(f"  {spec.usage(prefix)}{also} - {t(spec.description)}")
    return "\n".join(lines)


def unknown_command(word: str, prefix: str) -> str:
    return t(
        "I do not know {prefix}{word}. Send {prefix}help for the commands you can use.",
        prefix=prefix,
        word=word,
    )


def policy_reload_failed(errors: tuple[str, ...], elsewhere: int = 0) -> str:
    lines = [t("Policy reload failed; the last good policies keep running."), *errors[:20]]
    if len(errors) > 20:
        lines.append(tn("(and {n} more)", "(and {n} more)", len(errors) - 20))
    if elsewhere:
        lines.append(
            tn(
                "{n} error(s) in other communities' policy files; the admin sees them in the "
                "log.",
                "{n} error(s) in other communities' policy files; the admin sees them in the "
                "log.",
                elsewhere,
            )
        )
    return "\n".join(lines)


def refused_in_room(room_label: str, what: str, reason: str) -> str:
    return t(
        "in {room} the platform refused {what} ({reason}); nothing was reported as done, and "
        "what it was for is tried another way where the policy has one",
        room=room_label,
        what=t(what),  # a phrase marked N_ where it is chosen (bot/room_admin.py)
        reason=reason,
    )


def lacking_in_room(room_label: str, fix: str, needed_for: str) -> str:
    return t(
        "in {room} the bot lacks {fix}, needed {needed_for}",
        room=room_label,
        fix=fix,
        needed_for=needed_for,
    )


def adapter_problems(platform: str, problems: tuple[str, ...]) -> str:
    head = t("Confidant on {platform} cannot do everything its policies ask:", platform=platform)
    return head + "\n" + "\n".join(f"- {i18n.said(p)}" for p in problems)


# -- leak flagging: where, from which room, how and how confidently; never what ----------

_SIGNAL_NAMES = {  # the signal's name in a /flags line
    "forward": N_("forward"),
    "link": N_("link"),
    "reply": N_("reply"),
    "quote": N_("quote"),
}
_COPY_STATES = {  # what became of a flagged copy, in a /flags line
    "edited": N_("edited"),
    "deleted": N_("deleted"),
}


def leak_confidence(signal: str, matched: int, whole_message: bool) -> str:
    if signal != "quote":
        return t("certain (the platform says where it points)")
    if whole_message:
        return t("the whole short message matches one there")
    return tn("{n} matching fingerprint", "{n} matching fingerprints", matched)


def _leak_head(
    signal: str, flag_id: int, source: str, room: str, message: str, poster: str
) -> str:
    named = {"flag": flag_id, "source": source, "room": room, "message": message, "poster": poster}
    if signal == "forward":
        return t(
            "Possible leak from {source} (flag {flag}): a forward of a message from it, in "
            "{room}, message {message}, posted by {poster}.",
            **named,
        )
    if signal == "link":
        return t(
            "Possible leak from {source} (flag {flag}): a link to a message in it, in {room}, "
            "message {message}, posted by {poster}.",
            **named,
        )
    if signal == "reply":
        return t(
            "Possible leak from {source} (flag {flag}): a reply to a message in it, in "
            "{room}, message {message}, posted by {poster}.",
            **named,
        )
    if signal == "quote":
        return t(
            "Possible leak from {source} (flag {flag}): a quote of what was said there, in "
            "{room}, message {message}, posted by {poster}.",
            **named,
        )
    return t(
        "Possible leak from {source} (flag {flag}): {signal}, in {room}, message {message}, "
        "posted by {poster}.",
        signal=signal,
        **named,
    )


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
        _leak_head(signal, flag_id, source_label, room_label, message_id, poster),
        t(
            "Confidence: {confidence}.",
            confidence=leak_confidence(signal, matched, whole_message),
        ),
    ]
    if removed:
        lines.append(t("The copy was removed from the room."))
    lines.append(
        t(
            "{prefix}flag resolve {flag} when handled, or {prefix}flag false-positive {flag} "
            "if it is ordinary phrasing.",
            prefix=prefix,
            flag=flag_id,
        )
    )
    return "\n".join(lines)


def relayed_poster(name: str) -> str:
    """Who posted a relayed copy: the name it was posted under, and that a relay (a proxy
    bot's webhook, a bridge) posted it, so moderators look up the person behind it there."""
    return t("{name} (posted through a relay, such as a proxy bot's webhook)", name=name)


def leak_reminder(
    room_label: str, source_label: str, removed: bool, prefix: str, held: bool = False
) -> str:
    """To the poster, privately, once for copies posted close together; it names rooms,
    never the message. Plain sentences: what happened, what to do, where to read the rule."""
    named = {"room": room_label, "source": source_label, "prefix": prefix}
    if held and removed:
        return t(
            "Your message in {room} seems to repeat something from {source}, a confidential "
            "room, so it was taken down until a moderator has looked at it. You will hear "
            "what they decide. What is shared in {source} stays there. To read its reminder, "
            "send {prefix}rules in {source}.",
            **named,
        )
    if removed:
        return t(
            "Your message in {room} seems to repeat something from {source}, a confidential "
            "room, so it was removed. If it did not repeat anything said there, you need not "
            "do anything more. What is shared in {source} stays there. To read its reminder, "
            "send {prefix}rules in {source}.",
            **named,
        )
    return t(
        "Your message in {room} seems to repeat something from {source}, a confidential "
        "room. If it does repeat something said there, please delete it. If it does not, you "
        "need not do anything. What is shared in {source} stays there. To read its reminder, "
        "send {prefix}rules in {source}.",
        **named,
    )


def leak_flags(lines: list[str]) -> str:
    if not lines:
        return t("No open leak flags.")
    return t("Open leak flags, newest first:") + "\n" + "\n".join(lines)


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
    line = t(
        "{flag}: from {source}, {signal} in {room} (message {message}) by {poster}, {when}; "
        "{confidence}",
        flag=flag_id,
        source=source_label,
        signal=t(_SIGNAL_NAMES[signal]) if signal in _SIGNAL_NAMES else signal,
        room=room_label,
        message=message_id,
        poster=poster,
        when=when,
        confidence=leak_confidence(signal, matched, whole_message),
    )
    if copy_state != "posted":
        state = t(_COPY_STATES[copy_state]) if copy_state in _COPY_STATES else copy_state
        line += t(", copy {state}", state=state)
    return f"  {line}"


def leak_flag_missing(flag_id: int) -> str:
    return t("There is no open flag {flag} that you moderate.", flag=flag_id)


def leak_flag_resolved(flag_id: int) -> str:
    return t("Flag {flag} is resolved.", flag=flag_id)


def leak_flag_false_positive(flag_id: int, stopped: int) -> str:
    if stopped == 0:
        return t(
            "Flag {flag} is marked a false positive. It came from a forward, link or reply, "
            "so there was no phrasing to ignore.",
            flag=flag_id,
        )
    return tn(
        "Flag {flag} is marked a false positive; its {n} matching fingerprint is ignored "
        "from now on.",
        "Flag {flag} is marked a false positive; its {n} matching fingerprints are ignored "
        "from now on.",
        stopped,
        flag=flag_id,
    )


def audit_log(entries: list[tuple[str, str, str, str, str]]) -> str:
    if not entries:
        return t("The audit log is empty.")
    lines = [t("Audit log, newest first:")]
    lines += [
        f"  {at} {platform}:{actor} {action}" + (f" ({detail})" if detail else "")
        for at, platform, actor, action, detail in entries
    ]
    return "\n".join(lines)


def leak_review_outcome(room_label: str, harmless: bool) -> str:
    """To the poster of a held copy, once a moderator decided. Still no message text."""
    if harmless:
        return t(
            "A moderator looked at your message in {room} that was held for review and found "
            "nothing confidential in it. Confidant kept no copy, so please post it again if "
            "you still want to.",
            room=room_label,
        )
    return t(
        "A moderator looked at your message in {room} that was held for review; it stays "
        "removed because it seemed to repeat a confidential room. Thank you for keeping what "
        "is shared there where it was shared.",
        room=room_label,
    )


# -- members' reports to moderators (/report) ------------------------------------------------


def report_alert(
    report_id: int, who: str | None, words: str | None, where: str, prefix: str
) -> str:
    """To the moderators. ``words`` is the one exception to "no member's text": what the
    member wrote *to the moderators* with /report, and only when they chose to; it goes out
    here and is kept nowhere. ``who`` is None for an anonymous report."""
    if who:
        head = t("Report {report} from {who}: {where}.", report=report_id, who=who, where=where)
    else:
        head = t(
            "Report {report} from a member who asked to stay anonymous: {where}.",
            report=report_id,
            where=where,
        )
    lines = [head]
    if words:
        lines += [t("In their own words:"), words]
    else:
        lines.append(t("They added no words of their own."))
    if who:
        lines.append(
            t(
                "Answer them privately with {prefix}answer {report} <your answer>.",
                prefix=prefix,
                report=report_id,
            )
        )
    else:
        lines.append(
            t(
                "Answer them privately with {prefix}answer {report} <your answer> (they stay "
                "anonymous to you).",
                prefix=prefix,
                report=report_id,
            )
        )
    return "\n".join(lines)


def report_where(room_label: str | None, has_message: bool) -> str:
    if has_message:
        return t("about the message linked below")
    if room_label:
        return t("about the room {room} (linked below)", room=room_label)
    return t("not about one place in particular")


def report_sent(report_id: int, named: bool, prefix: str) -> str:
    if named:
        return t(
            "Thank you. Your report ({report}) is with the moderators. They can see that it "
            "came from you, because you chose that. Confidant did not keep your words. If a "
            "moderator answers, the answer comes to your private messages with Confidant, so "
            "please keep them open for this server or room. You can see your reports with "
            "{prefix}mydata.",
            report=report_id,
            prefix=prefix,
        )
    return t(
        "Thank you. Your report ({report}) is with the moderators. They do not see who you "
        "are. Confidant did not keep your words. If a moderator answers, the answer comes to "
        "your private messages with Confidant, so please keep them open for this server or "
        "room. You can see your reports with {prefix}mydata.",
        report=report_id,
        prefix=prefix,
    )


def report_seen_in_room(prefix: str) -> str:
    return t(
        "This room could see the {prefix}report line you typed. Next time, send it in your "
        "private chat with me, where nobody else reads it.",
        prefix=prefix,
    )


def report_limited(per_hour: int, minutes: int) -> str:
    return " ".join(
        [
            tn(
                "You have sent {n} report in the last hour, which is as many as this room "
                "takes at once, so this one was not sent. Your earlier reports are with the "
                "moderators.",
                "You have sent {n} reports in the last hour, which is as many as this room "
                "takes at once, so this one was not sent. Your earlier reports are with the "
                "moderators.",
                per_hour,
            ),
            tn(
                "You can send another in about {n} minute.",
                "You can send another in about {n} minutes.",
                minutes,
            ),
            t(
                "If you need help now, please write to a moderator directly, or use the crisis "
                "resources your community lists."
            ),
        ]
    )


def report_nobody(prefix: str) -> str:
    return t(
        "I could not tell which moderators to send this to. Please send {prefix}report in the "
        "room it is about, or add a link to a message there.",
        prefix=prefix,
    )


def report_bad_link(prefix: str) -> str:
    return t(
        "I could not read that link. Copy the message's link (its menu has Copy Link or "
        "Share) and send {prefix}report again with it, or send {prefix}report in the room "
        "itself.",
        prefix=prefix,
    )


def report_off() -> str:
    return t(
        "Reports to the moderators are turned off for this room. Please write to a moderator."
    )


def report_answer_to_member(report_id: int, answer: str) -> str:
    head = t("A moderator answered your report {report}:", report=report_id)
    return f"{head}\n\n{answer}"


def report_answer_sending(report_id: int, thread: bool = False) -> str:
    if thread:
        return t(
            "Your answer to report {report} is on its way to the member's private messages. "
            "If those are closed, it goes to a private thread with them in the room they "
            "reported from; if that fails too, the moderators' room is told; nothing is "
            "posted anywhere else.",
            report=report_id,
        )
    return t(
        "Your answer to report {report} is on its way to the member's private messages. If "
        "it cannot be delivered, the moderators' room is told; nothing is posted anywhere "
        "else.",
        report=report_id,
    )


def report_answer_undelivered(report_id: int, prefix: str) -> str:
    return t(
        "The answer to report {report} could not be delivered: the member does not accept "
        "private messages from Confidant. It was not posted anywhere else and not kept; try "
        "again later with {prefix}answer {report} <your answer>.",
        report=report_id,
        prefix=prefix,
    )


def report_unknown(report_id: int) -> str:
    return t("There is no report {report} among the reports you moderate.", report=report_id)


def unencrypted_private_chat() -> str:
    """Said once in a member's private chat with the bot that is not end-to-end encrypted.
    It holds nothing private: everything private goes to the encrypted chat named here."""
    return t(
        "This chat is not encrypted, so I send nothing private here: I have opened an "
        "encrypted private chat with you (accept its invitation if you have not yet)."
    )


# -- a copy held for review, read once by a moderator (bot/leaks_flow/held.py) -----------


def held_copy_shown(flag_id: int, source_label: str, room_label: str, text: str) -> str:
    """The one place a held copy's words go: to the moderator who asked, privately."""
    head = t(
        "The copy held for flag {flag} (in {room}, seemingly from {source}). It is shown "
        "this once and is now destroyed; do not repeat it elsewhere.",
        flag=flag_id,
        room=room_label,
        source=source_label,
    )
    return f"{head}\n\n{text}"


def held_copy_gone(flag_id: int) -> str:
    return t(
        "Flag {flag} has no held copy to show: it was already shown, its review time is up, "
        "the flag was closed, or nothing was held.",
        flag=flag_id,
    )


def _hour_count(hours: float) -> tuple[int, int | float]:
    """The count that picks a plural form, and the number shown (2.5 hours is plural)."""
    whole = int(hours) if float(hours).is_integer() else hours
    return (whole if isinstance(whole, int) else 2), whole


def held_copy_alert_line(flag_id: int, prefix: str, hours: float) -> str:
    """Added to the alert of a held copy: how a moderator reads it, and for how long."""
    count, shown = _hour_count(hours)
    return tn(
        "The copy is kept sealed for review: {prefix}flag show {flag} shows it to you once, "
        "privately, within {n} hour.",
        "The copy is kept sealed for review: {prefix}flag show {flag} shows it to you once, "
        "privately, within {n} hours.",
        count,
        n=shown,
        prefix=prefix,
        flag=flag_id,
    )


def held_copy_poster_note(hours: float) -> str:
    """Added to the poster's reminder: what happens to their removed words."""
    count, shown = _hour_count(hours)
    return " " + tn(
        "Your message is kept sealed for at most {n} hour so that one moderator can read it "
        "once; then it is destroyed.",
        "Your message is kept sealed for at most {n} hours so that one moderator can read it "
        "once; then it is destroyed.",
        count,
        n=shown,
    )


def held_copy_undelivered(flag_id: int, prefix: str) -> str:
    """Said where the moderator asked, without the copy: it is never shown in a room."""
    return t(
        "The held copy of flag {flag} could not be sent to you privately (your private "
        "messages from me are closed), and it is never shown in a room. It was read out of "
        "storage for you, so it is gone now; {prefix}flag resolve or {prefix}flag "
        "false-positive {flag} still close the flag.",
        flag=flag_id,
        prefix=prefix,
    )


def leak_review_harmless_after_hold(room_label: str) -> str:
    """To the poster of a held copy found harmless: the sealed copy went with the review."""
    return t(
        "A moderator looked at your message in {room} that was held for review and found "
        "nothing confidential in it. Confidant kept it only sealed, for the review, and has "
        "now destroyed it, so please post it again if you still want to.",
        room=room_label,
    )


def unknown_in_group(name: str, prefix: str, specs: list[CommandSpec], default: str | None) -> str:
    """``name`` is a group's word and a word none of its commands has ("checkin now")."""
    group, word = name.split(" ", 1)
    lines = [
        t("{prefix}{group} has no command '{word}'. Usage:", prefix=prefix, group=group, word=word)
    ]
    for spec in sorted(specs, key=lambda s: s.name != default):
        usage = spec.usage(prefix)
        if spec.name == default:
            usage = t("{prefix}{group} (or {usage})", prefix=prefix, group=group, usage=usage)
        lines.append(f"  {usage} - {t(spec.description)}")
    return "\n".join(lines)


def policy_reloaded_after_failure() -> str:
    """To the moderators' rooms that were told a reload failed, once the files load again."""
    return t("Policies reloaded: the policy files load without errors again and are in use now.")


def leak_parts_line(parts: tuple[str, ...]) -> str:
    """Under a leak alert for a quote posted over several messages: every part, so the
    moderators look at (and, where they act, remove) all of them, not only the last."""
    return tn(
        "Posted in {n} parts: messages {parts}.",
        "Posted in {n} parts: messages {parts}.",
        len(parts),
        parts=", ".join(parts),
    )


def leak_flag_parts_note(parts: tuple[str, ...]) -> str:
    """After a /flags line whose copy was posted in parts: all of them, oldest first."""
    return tn(
        "; posted in {n} parts: messages {parts}",
        "; posted in {n} parts: messages {parts}",
        len(parts),
        parts=", ".join(parts),
    )


# -- read-gated rooms (reminder.gate: read) ------------------------------------------------
def read_gate_reminder(room_label: str, text: str, prefix: str, buttons: bool) -> str:
    """To a member who asked to read a read-gated room: the promise comes before they read
    anything members shared there."""
    if buttons:
        ask = t(
            "If you will keep it, press {agree} below (or reply {prefix}agree), and I will let "
            "you in.",
            agree=agree_label(),
            prefix=prefix,
        )
    else:
        ask = t("If you will keep it, reply {prefix}agree, and I will let you in.", prefix=prefix)
    head = t(
        "Before you can read {room}, please read its confidentiality reminder:", room=room_label
    )
    return "\n".join([head, "", text.strip(), "", ask])


def read_gate_in_welcome(room_label: str, text: str, prefix: str, buttons: bool) -> str:
    """The same, in the policy's welcome room, for a member whose private messages are closed."""
    if buttons:
        ask = t("Press {agree} if you will keep it, and I will let you in.", agree=agree_label())
    else:
        ask = t(
            "Send {prefix}agree here if you will keep it, and I will let you in.", prefix=prefix
        )
    head = t(
        "I could not reach you privately. Before you can read {room}, please read its "
        "confidentiality reminder:",
        room=room_label,
    )
    return "\n".join([head, "", text.strip(), "", ask])


def access_granted(room_label: str, by_invite: bool = False) -> str:
    """Said only once the platform has opened the room to the member (where that is an
    invite, it still has to be accepted: saying "you can now read" would not be true yet)."""
    if by_invite:
        return t(
            "You are invited to {room}: accept the invitation and you can read it. Thank you "
            "for keeping what is shared there.",
            room=room_label,
        )
    return t(
        "You can now read {room}. Thank you for keeping what is shared there.", room=room_label
    )


def not_a_read_gated_room(room_label: str) -> str:
    """To a member who asked the bot to let them into a room it does not gate (or does not
    know): nothing is said about what the room is or who is in it."""
    return t(
        "{room} is not a room I let people into. Ask its moderators, or check the room's "
        "address.",
        room=room_label,
    )


def read_gate_unsafe(room_label: str, problems: str) -> str:
    """The adapter's check of a read-gated room's settings, for its moderators."""
    return t(
        "the read gate of {room} is not as the policy asks: {problems}",
        room=room_label,
        problems=problems,
    )


def access_suspended(room_label: str) -> str:
    """Said after a changed text took a member's access away (reask: suspend)."""
    return t(
        "The confidentiality reminder of {room} has changed, so you cannot read it until you "
        "agree to the new one.",
        room=room_label,
    )


def access_suspended_notice() -> str:
    """The reason a platform shows with the removal (Matrix: the kick's reason, which the
    room's other members see too): why, and what brings the member back; nothing else."""
    return t(
        "The room's confidentiality reminder has changed. Agree to the new one to read the "
        "room again."
    )


# -- moderators' commands (bot/moderation.py) ----------------------------------------------
def no_such_policy(names: str) -> str:
    return t("No such policy here. Policies you moderate: {names}", names=names or t("none"))


def policies_reloaded(changed: bool, names: str) -> str:
    if changed:
        return t("Policies reloaded (changed): {names}", names=names or t("none"))
    return t("Policies reloaded (unchanged): {names}", names=names or t("none"))


def reload_errors_elsewhere(count: int) -> str:
    return tn(
        "{n} more error is in policy files that are not yours; nothing is reloaded until it "
        "is fixed (the admin sees it in the log).",
        "{n} more errors are in policy files that are not yours; nothing is reloaded until "
        "they are fixed (the admin sees them in the log).",
        count,
    )


def name_a_policy(prefix: str, names: str) -> str:
    return t(
        "Name a policy you moderate: {prefix}agreements <policy> (yours: {names})",
        prefix=prefix,
        names=names or t("none"),
    )


def agreements_head(policy: str) -> str:
    return t("Agreements to the reminder of {policy}, current text first:", policy=policy)


def no_members_seen() -> str:
    return t("no members seen yet")


def agreements_room(label: str, agreed_now: int, members: int) -> str:
    return tn(
        "{room}: {agreed} of {n} member agreed to the current text",
        "{room}: {agreed} of {n} members agreed to the current text",
        members,
        room=label,
        agreed=Number(agreed_now),
    )


def agreements_version(current: bool, version: str, names: str) -> str:
    if current:
        return "  " + t("current text (version {version}): {names}", version=version, names=names)
    return "  " + t("earlier text (version {version}): {names}", version=version, names=names)


def agreements_never(names: str) -> str:
    return "  " + t("not agreed: {names}", names=names)


# -- repeat leakers (bot/repeat_flags.py) --------------------------------------------------
def ordinal(n: int) -> str:
    """"2nd" in the language spoken (its ordinal's written form, as CLDR gives it)."""
    lang = i18n.current()
    if lang == "de":
        return f"{n}."
    if lang == "es":
        return f"{n}.º"
    if lang == "fr":
        return "1er" if n == 1 else f"{n}e"
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def repeat_earlier(earlier: int, days: int, mark: int) -> str:
    """Under a new flag's alert: the poster's earlier confirmed flags."""
    if earlier >= mark:
        return t(
            "REPEATED: Earlier confirmed flags by this member: {earlier} in {days} days (the "
            "policy's mark is {mark})",
            earlier=Number(earlier),
            days=Number(days),
            mark=mark,
        )
    return t(
        "Earlier confirmed flags by this member: {earlier} in {days} days",
        earlier=Number(earlier),
        days=Number(days),
    )


def repeat_count(count: int, days: int) -> str:
    return t(
        "{ordinal} confirmed flag of this member in {days} days.",
        ordinal=ordinal(count),
        days=Number(days),
    )


def repeat_action(kind: str, action_id: int, minutes: int | None) -> str:
    """What the policy sets against a repeat leaker, said after a colon."""
    if kind == "timeout":
        return t(
            "a {minutes}-minute timeout (action {action})",
            minutes=minutes if minutes is None else Number(minutes),
            action=action_id,
        )
    return t("removal from the policy's rooms (action {action})", action=action_id)


def repeat_leaker(flag_id: int, count: int, days: int, mark: int) -> str:
    return t(
        "Repeat leaker: the poster of flag {flag} has {count} confirmed flags in {days} days "
        "(the policy's mark is {mark}).",
        flag=flag_id,
        count=Number(count),
        days=Number(days),
        mark=mark,
    )


def repeat_done(head: str, what: str) -> str:
    return f"{head} " + t("Done by the policy: {what}.", what=what)


def repeat_done_line(line: str, mark: int, what: str) -> str:
    return f"{line} " + t("The policy's mark is {mark}: {what} (automatic).", mark=mark, what=what)


def repeat_proposed(head: str, what: str, prefix: str, action_id: int) -> str:
    return f"{head} " + t(
        "Proposed: {what}. To do it: {prefix}flag confirm-action {action}",
        what=what,
        prefix=prefix,
        action=action_id,
    )


def repeat_proposed_line(line: str, mark: int, what: str, prefix: str, action_id: int) -> str:
    return f"{line} " + t(
        "The policy's mark is {mark}: it proposes {what}. To do it: {prefix}flag "
        "confirm-action {action}",
        mark=mark,
        what=what,
        prefix=prefix,
        action=action_id,
    )


def no_proposed_action(action_id: int) -> str:
    return t("There is no proposed action {action}.", action=action_id)


def repeat_confirmed(what: str, applied: bool) -> str:
    if applied:
        return t("Confirmed: {what}.", what=what)
    return t(
        "Confirmed: {what}. The bot knows no room of the policy on that platform to apply it "
        "to.",
        what=what,
    )


_ACTION_STATES = {"proposed": N_("proposed"), "done": N_("done"), "restored": N_("restored")}


def member_flags_head(member: str, count: int) -> str:
    return t("Confirmed flags of {member}: {count}", member=member, count=Number(count))


def member_flag_line(flag_id: int, policy: str, at: str) -> str:
    return "  " + t("flag {flag} ({policy}), {at} UTC", flag=flag_id, policy=policy, at=at)


def member_action_line(what: str, status: str, until: str | None) -> str:
    state = t(_ACTION_STATES[status]) if status in _ACTION_STATES else status
    if until:
        return "  " + t("{what}: {state} until {until} UTC", what=what, state=state, until=until)
    return "  " + t("{what}: {state}", what=what, state=state)


def cannot_enforce(room_label: str) -> str:
    return t(
        "in {room} I can neither stop members who have not agreed from posting nor remove "
        "their posts, so the agreement rule is not enforced there",
        room=room_label,
    )


def not_available(command: str) -> str:
    return t("{command} is not available yet.", command=command)
