"""The crash-safety harness: the bot as a separate process on a real Synapse and the Discord
protocol fake, a seeded stream of member events, SIGKILLs at seeded points, and invariants
checked from what the members' clients received.

``script`` makes the stream (pure, from the seed only); ``launch`` is the bot process's entry
point; ``botproc`` starts, kills and restarts it; ``matrix_side`` and ``discord_side`` are the
members on each platform; ``driver`` plays the script; ``verify`` checks the invariants;
``harness`` puts it together for ``benchmarks/crash_harness.py`` and the test suite.
"""
