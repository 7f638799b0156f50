"""Matrix adapter: the bot on Matrix homeservers, plus a launcher for a local one."""
