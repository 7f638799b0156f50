"""Platform adapters: each translates one platform's events into core events and the core's
actions back into platform calls. Nothing here decides policy."""
