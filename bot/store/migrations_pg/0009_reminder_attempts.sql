-- Confidant schema, version 9: how often a reminder's private message failed, and when to
-- try it again. A platform that will not take the message just now (opening private chats
-- too fast, an error that may pass) is asked again a bounded number of times with growing
-- pauses, then the policy's fallback is used: a retry on every tick for ever would count
-- against the bot on the platform. Existing rows start with no failed attempt.
ALTER TABLE reminders ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE reminders ADD COLUMN retry_at TEXT;
