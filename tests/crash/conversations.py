"""Check-in conversations as a member lives them: read the bot's last question, answer it, and
know afterwards which answers the bot acknowledged.

An answer counts as acknowledged when, after the member sent it and before they wrote
anything else, the bot's private messages moved on: the next question, or the closing
thanks after the last one. That is the member's experience of "it was taken", and exactly what must
survive any crash. Everything here is pure: it reads lists of message texts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tests.crash.script import QUESTIONS, Session

CONSENT_AGAIN = "Please reply agree or decline."
_QUESTION = re.compile(r"^Question (\d+) of (\d+):")


@dataclass(frozen=True, slots=True)
class Prompt:
    kind: str  # "question", "consent", "done", "closed", "retry"
    question: int = -1  # 0-based, for "question"


def classify(text: str) -> Prompt | None:
    """What a private message from the bot asks of the member; None if it asks nothing."""
    found = _QUESTION.match(text)
    if found:
        return Prompt("question", int(found.group(1)) - 1)
    if "Do you agree to check in on these terms?" in text or text == CONSENT_AGAIN:
        return Prompt("consent")
    if text.startswith("Thank you for checking in."):
        return Prompt("done")
    if text.startswith(("Check-in stopped.", "Your check-in closed after")):
        return Prompt("closed")
    if text.startswith("I did not understand that answer"):
        return Prompt("retry")
    return None


@dataclass(frozen=True, slots=True)
class Exchange:
    """One message the member typed in the conversation."""

    text: str
    question: int | None  # the question it answers; None for "agree" or the command
    seen: int  # how many private messages the member had seen when sending it


@dataclass
class Conversation:
    session: Session
    exchanges: list[Exchange] = field(default_factory=list)
    finished: bool = False

    @property
    def start(self) -> int:
        return self.exchanges[0].seen if self.exchanges else 0

    def _since_last(self, prompts: list[str]) -> list[Prompt]:
        last_sent = self.exchanges[-1].seen if self.exchanges else 0
        return [p for text in prompts[last_sent:] if (p := classify(text)) is not None]

    def answered(self, prompts: list[str]) -> bool:
        """The bot answered what the member last wrote: after an answer to question k the
        next question (or the thanks, or a "did not understand"); after a command or
        "agree", any question. A repeat of question k is not enough: a restarted bot asks
        where it stood, which can cross the member's answer on the way and arrive after it."""
        last = self.exchanges[-1] if self.exchanges else None
        for prompt in self._since_last(prompts):
            if prompt.kind in ("done", "closed", "retry", "consent"):
                return True
            if last is None or last.question is None or prompt.question > last.question:
                return True
        return False

    def next_reply(self, prompts: list[str], command: str) -> Exchange:
        """What the member types now: the answer to the newest question shown since they
        last wrote, "agree" to the intro, or else the command again (a restart forgets an
        intro waiting for agreement, a "did not understand" leaves it unclear what is asked;
        the command brings back where things stand)."""
        shown = [p for p in self._since_last(prompts) if p.kind in ("question", "consent")]
        if not shown:
            return Exchange(command, None, len(prompts))
        prompt = shown[-1]
        if prompt.kind == "consent":
            return Exchange("agree", None, len(prompts))
        if 0 <= prompt.question < len(QUESTIONS):
            text = self.session.answer(QUESTIONS[prompt.question])
            return Exchange(text, prompt.question, len(prompts))
        return Exchange(command, None, len(prompts))

    def over(self, prompts: list[str]) -> bool:
        return any(
            (p := classify(text)) is not None and p.kind in ("done", "closed")
            for text in prompts[self.start :]
        )


@dataclass(frozen=True, slots=True)
class Answer:
    platform: str
    member: str
    session: int
    question_id: str
    value: str
    acknowledged: bool


def answers_of(conversations: list[Conversation], prompts: list[str]) -> list[Answer]:
    """Every answer one member typed, and whether the bot acknowledged it. ``conversations``
    are that member's, in order; ``prompts`` everything the bot sent them privately."""
    found: list[Answer] = []
    for number, conversation in enumerate(conversations):
        end_of_conversation = (
            conversations[number + 1].start if number + 1 < len(conversations) else len(prompts)
        )
        exchanges = conversation.exchanges
        for index, exchange in enumerate(exchanges):
            if exchange.question is None:
                continue
            # Up to whatever the member wrote next: a reply after that may answer it instead.
            end = exchanges[index + 1].seen if index + 1 < len(exchanges) else end_of_conversation
            window = [classify(text) for text in prompts[exchange.seen : end]]
            moved_on = any(
                p is not None
                and (
                    (p.kind == "question" and p.question == exchange.question + 1)
                    or (p.kind == "done" and exchange.question == len(QUESTIONS) - 1)
                )
                for p in window
            )
            session = conversation.session
            found.append(
                Answer(
                    session.platform,
                    session.member,
                    session.number,
                    QUESTIONS[exchange.question],
                    exchange.text,
                    moved_on,
                )
            )
    return found
