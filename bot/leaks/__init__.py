"""Leak detection that keeps no plaintext: keyed winnowing fingerprints of confidential rooms.

A message posted outside a confidential room is fingerprinted the same way as the room's
own messages and looked up in a :class:`LeakIndex`; a match means the outside message
probably quotes the room. Only keyed hashes, room keys, day numbers and keyed author
hashes are ever held, so the index can be persisted without storing what anyone said.

Typical wiring::

    fingerprinter = Fingerprinter(deployment_key, params)
    index = LeakIndex(params, background_fingerprints(fingerprinter))
    # a message in a confidential room:
    index.add(fingerprinter.fingerprints(text), room_key, day, author)
    # a message anywhere:
    matches = index.lookup(fingerprinter.fingerprints(text), exclude_room=room_key)
"""

from __future__ import annotations

from bot.leaks.fingerprint import EMPTY, Fingerprinter, Fingerprints, author_key
from bot.leaks.index import MAX_DAY, LeakIndex, Match, Posting
from bot.leaks.normalize import normalize
from bot.leaks.params import LeakParams
from bot.leaks.stoplist import BUILTIN_PHRASES, background_fingerprints, common_fingerprints
from bot.leaks.tokenize import tokenize
from bot.leaks.winnow import winnow, winnow_positions

__all__ = [
    "BUILTIN_PHRASES",
    "EMPTY",
    "MAX_DAY",
    "Fingerprinter",
    "Fingerprints",
    "LeakIndex",
    "LeakParams",
    "Match",
    "Posting",
    "author_key",
    "background_fingerprints",
    "common_fingerprints",
    "normalize",
    "tokenize",
    "winnow",
    "winnow_positions",
]
