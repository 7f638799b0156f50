"""Ways someone re-types a quote so it is not flagged, generated from the benchmark's own data.

Each transformation takes the words of a quote (cut from a confidential message) and returns
the message or messages a person would post instead: the same words with look-alike letters
from other scripts, invisible fillers, accents, small capitals, keycaps or emoji between
words, split over two or three posts, with a word or two changed, two neighbours swapped,
or British spelling for American. Everything is drawn from one ``random.Random``, so a seed
gives the same probes every run. The characters come from Unicode's own data (confusables,
default ignorables, the small capital and keycap forms), named here by code point.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

# Latin letters and a look-alike from Cyrillic or Greek (Unicode TS #39 confusables.txt).
LOOKALIKES: dict[str, str] = {
    "a": "\u0430", "c": "\u0441", "e": "\u0435", "i": "\u0456", "j": "\u0458", "o": "\u043e",
    "p": "\u0440", "s": "\u0455", "x": "\u0445", "y": "\u0443", "h": "\u04bb", "d": "\u0501",
    "q": "\u051b", "w": "\u051d", "v": "\u03bd", "n": "\u0578", "u": "\u057d", "g": "\u0261",
    "A": "\u0391", "B": "\u0392", "E": "\u0395", "H": "\u0397", "I": "\u0399", "K": "\u039a",
    "M": "\u039c", "N": "\u039d", "O": "\u039f", "P": "\u03a1", "T": "\u03a4", "X": "\u03a7",
    "Y": "\u03a5", "Z": "\u0396", "C": "\u0421", "S": "\u0405",
}
# Code points that render as nothing, or as a blank, inside a word.
FILLERS = (
    "\u034f",  # combining grapheme joiner
    "\u3164",  # Hangul filler
    "\u2800",  # braille pattern blank
    "\u115f",  # Hangul choseong filler
    "\u1160",  # Hangul jungseong filler
    "\uffa0",  # halfwidth Hangul filler
    "\u200b",  # zero width space
    "\u2060",  # word joiner
    "\u00ad",  # soft hyphen
    "\ufe0f",  # variation selector-16
    "\U000e0041",  # tag latin capital letter a
)
ACCENTS = ("\u0301", "\u0300", "\u0308", "\u0302", "\u0303", "\u0327", "\u030c", "\u0323")
SMALL_CAPS: dict[str, str] = dict(zip(
    "abcdefghijklmnopqrstuvwxyz",
    "\u1d00\u0299\u1d04\u1d05\u1d07\ua730\u0262\u029c\u026a\u1d0a\u1d0b\u029f\u1d0d\u0274"
    "\u1d0f\u1d18\ua7af\u0280\ua731\u1d1b\u1d1c\u1d20\u1d21x\u028f\u1d22",
    strict=True,
))
KEYCAPS = tuple(f"{key}\ufe0f\u20e3" for key in "0123456789#*")
EMOJI = ("😀", "🙏", "❤️", "😢", "👍", "🔥", "🤐", "👀", "💔", "🌧️")
# American -> British spellings (the chitchat data is American English).
SPELLINGS: dict[str, str] = {
    "color": "colour", "colors": "colours", "favorite": "favourite", "favorites": "favourites",
    "realize": "realise", "realized": "realised", "organize": "organise",
    "organized": "organised", "apologize": "apologise", "center": "centre",
    "theater": "theatre", "traveling": "travelling", "traveled": "travelled",
    "canceled": "cancelled", "neighbor": "neighbour", "neighbors": "neighbours",
    "behavior": "behaviour", "honor": "honour", "humor": "humour", "labor": "labour",
    "defense": "defence", "gray": "grey", "jewelry": "jewellery", "analyze": "analyse",
    "recognize": "recognise", "catalog": "catalogue", "program": "programme",
    "mom": "mum", "moms": "mums", "flavor": "flavour", "flavors": "flavours",
    "favor": "favour", "harbor": "harbour", "rumor": "rumour", "meter": "metre",
    "liter": "litre", "fiber": "fibre", "aging": "ageing", "practice": "practise",
    "check": "cheque", "tire": "tyre", "tires": "tyres", "pajamas": "pyjamas",
    "skeptical": "sceptical", "dialog": "dialogue", "mold": "mould", "plow": "plough",
    "cozy": "cosy", "criticize": "criticise", "memorize": "memorise", "emphasize": "emphasise",
    "apologized": "apologised", "realizing": "realising", "organizing": "organising",
}

Transform = Callable[[list[str], random.Random, Sequence[str]], list[str]]
"""(quote words, rng, vocabulary) -> the message or messages posted instead."""


def _per_word(words: list[str], change: Callable[[str], str]) -> list[str]:
    return [" ".join(change(word) for word in words)]


def identity(words: list[str], rng: random.Random, vocabulary: Sequence[str]) -> list[str]:
    return [" ".join(words)]


def lookalike(words: list[str], rng: random.Random, vocabulary: Sequence[str]) -> list[str]:
    """One letter of every word that has a look-alike swapped for it ("tоld", "аbоut")."""

    def change(word: str) -> str:
        spots = [i for i, char in enumerate(word) if char in LOOKALIKES]
        if not spots:
            return word
        i = rng.choice(spots)
        return word[:i] + LOOKALIKES[word[i]] + word[i + 1 :]

    return _per_word(words, change)


def invisible(words: list[str], rng: random.Random, vocabulary: Sequence[str]) -> list[str]:
    """An invisible or blank filler inside every word of two letters or more."""

    def change(word: str) -> str:
        if len(word) < 2:
            return word
        i = rng.randrange(1, len(word))
        return word[:i] + rng.choice(FILLERS) + word[i:]

    return _per_word(words, change)


def accents(words: list[str], rng: random.Random, vocabulary: Sequence[str]) -> list[str]:
    """One combining accent on a letter of every word."""

    def change(word: str) -> str:
        spots = [i for i, char in enumerate(word) if char.isalpha()]
        if not spots:
            return word
        i = rng.choice(spots)
        return word[: i + 1] + rng.choice(ACCENTS) + word[i + 1 :]

    return _per_word(words, change)


def small_caps(words: list[str], rng: random.Random, vocabulary: Sequence[str]) -> list[str]:
    """The whole quote in small capital letters (ᴛʜɪꜱ ɪꜱ)."""
    return _per_word(words, lambda word: "".join(SMALL_CAPS.get(c, c) for c in word.lower()))


def _between(words: list[str], rng: random.Random, fillers: Sequence[str]) -> list[str]:
    out: list[str] = []
    for n, word in enumerate(words):
        out.append(word)
        if n < len(words) - 1 and rng.random() < 0.5:
            out.append(rng.choice(fillers))
    return [" ".join(out)]


def keycaps(words: list[str], rng: random.Random, vocabulary: Sequence[str]) -> list[str]:
    """Keycap emoji (1️⃣, #️⃣) between about half the words."""
    return _between(words, rng, KEYCAPS)


def emoji(words: list[str], rng: random.Random, vocabulary: Sequence[str]) -> list[str]:
    """Emoji between about half the words."""
    return _between(words, rng, EMOJI)


def _split(words: list[str], parts: int, rng: random.Random) -> list[str]:
    cuts = sorted(rng.sample(range(3, len(words) - 2), parts - 1))
    bounds = [0, *cuts, len(words)]
    return [" ".join(words[a:b]) for a, b in pairwise(bounds)]


def split2(words: list[str], rng: random.Random, vocabulary: Sequence[str]) -> list[str]:
    """The quote posted as two consecutive messages, cut at a random word."""
    return _split(words, 2, rng)


def split3(words: list[str], rng: random.Random, vocabulary: Sequence[str]) -> list[str]:
    """The quote posted as three consecutive messages."""
    return _split(words, 3, rng)


def _replace(
    words: list[str], count: int, rng: random.Random, vocabulary: Sequence[str]
) -> list[str]:
    words = words[:]
    for i in rng.sample(range(len(words)), count):
        replacement = rng.choice(vocabulary)
        for _ in range(100):  # bounded: a tiny vocabulary could hold only this word
            if replacement.lower() != words[i].lower():
                break
            replacement = rng.choice(vocabulary)
        words[i] = replacement
    return [" ".join(words)]


def one_word(words: list[str], rng: random.Random, vocabulary: Sequence[str]) -> list[str]:
    """One word replaced by another from ordinary chat."""
    return _replace(words, 1, rng, vocabulary)


def two_words(words: list[str], rng: random.Random, vocabulary: Sequence[str]) -> list[str]:
    """Two words replaced."""
    return _replace(words, 2, rng, vocabulary)


def swap(words: list[str], rng: random.Random, vocabulary: Sequence[str]) -> list[str]:
    """Two neighbouring words swapped."""
    words = words[:]
    spots = [i for i in range(len(words) - 1) if words[i].lower() != words[i + 1].lower()]
    i = rng.choice(spots or [0])  # "ha ha ha ..." has no pair that a swap would change
    words[i], words[i + 1] = words[i + 1], words[i]
    return [" ".join(words)]


def has_spelling(words: Sequence[str]) -> bool:
    return any(word.lower().strip(".,!?") in SPELLINGS for word in words)


def spelling(words: list[str], rng: random.Random, vocabulary: Sequence[str]) -> list[str]:
    """American spellings turned British (color -> colour); the quote holds at least one."""

    def change(word: str) -> str:
        bare = word.lower().strip(".,!?")
        return word.lower().replace(bare, SPELLINGS[bare]) if bare in SPELLINGS else word

    return _per_word(words, change)


@dataclass(frozen=True, slots=True)
class Evasion:
    name: str
    """The key in the benchmark's JSON line: ``recall_<name>``."""
    words: int
    """Length of the quotes it is applied to (a range for splits: 15 to 21 words)."""
    transform: Transform
    needs: Callable[[Sequence[str]], bool] | None = None
    """A condition the quoted words must meet (British spelling needs an American word)."""


EVASIONS: tuple[Evasion, ...] = (
    Evasion("identity", 20, identity),
    Evasion("lookalike", 20, lookalike),
    Evasion("invisible", 20, invisible),
    Evasion("accents", 20, accents),
    Evasion("small_caps", 20, small_caps),
    Evasion("keycaps", 20, keycaps),
    Evasion("emoji", 20, emoji),
    Evasion("split2", 15, split2),
    Evasion("split3", 15, split3),
    Evasion("one_word_20", 20, one_word),
    Evasion("two_words_30", 30, two_words),
    Evasion("swap", 20, swap),
    Evasion("spelling", 20, spelling, has_spelling),
)
SPLIT_LONGEST = 21
"""Split quotes are 15 to 21 words long, as people post a long sentence in pieces."""


def quote_words(words: Sequence[str], evasion: Evasion, rng: random.Random) -> list[str] | None:
    """A run of ``words`` to quote for ``evasion``, or None when the message cannot give one."""
    length = evasion.words
    if evasion.name.startswith("split"):
        if len(words) < length:
            return None
        length = rng.randint(length, min(SPLIT_LONGEST, len(words)))
    if len(words) < length:
        return None
    starts = list(range(len(words) - length + 1))
    if evasion.needs is not None:
        starts = [s for s in starts if evasion.needs(words[s : s + length])]
        if not starts:
            return None
    start = rng.choice(starts)
    return list(words[start : start + length])
