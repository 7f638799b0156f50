"""The crash-safety harness: the bot as a separate process on a real Synapse and the Discord
protocol fake, a seeded stream of member events, SIGKILLs at seeded points, and invariants
checked from what the members' clients received.

``script`` makes the stream (pure, from the seed only); ``launch`` is the bot process's entry
point; ``botproc`` starts, kills and restarts it; ``matrix_side`` and ``discord_side`` are the
members on each platform; ``driver`` plays the script; ``verify`` checks the invariants;
``harness`` puts it together for ``benchmarks/crash_harness.py`` and the test suite.
``two_process`` is the mode with two bot processes on one PostgreSQL (``bot_pair`` kills either
one, ``sharded_discord`` is a server on each Discord shard, ``scheduled`` plans scheduled
check-ins and the kills timed to their firing).
"""
