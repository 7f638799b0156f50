"""Optional extras the bot process never uses, kept out of it.

A small VPS is the target (an idle bot with both platforms connected should stay under
80 MB), and two libraries were loaded for nothing: PyNaCl, which discord.py imports for
voice (Confidant never joins a voice channel; the package is only installed because the
embedded homeserver needs it), and cffi with its C-declaration parser, PyCryptodome's
optional accelerator, whose ctypes path does the same work (a check-in answer is a few
hundred bytes). Marking them absent before anything imports them makes both libraries take
the path they take where the extras are not installed. Together about 2.4 MB.
"""

from __future__ import annotations

import sys

UNUSED_EXTRAS = ("nacl", "cffi")


def keep_out_unused_extras() -> None:
    """Call first thing in the bot process; a module already imported is left alone."""
    for name in UNUSED_EXTRAS:
        if name not in sys.modules:
            sys.modules[name] = None  # type: ignore[assignment]  # import now raises ImportError
