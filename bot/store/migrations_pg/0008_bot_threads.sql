-- Confidant schema, version 8: threads the bot opened itself.
-- When a member's private messages are closed, the Discord adapter holds their reminder in a
-- private thread it opens for them. Such a thread is not a room of its own: adding the
-- member there is not a join (which would remind them again, in yet another thread). The
-- adapter must still know these threads after a restart, so their ids are kept here.
-- Ids only: never a name, a member or what was written.
CREATE TABLE bot_threads (
    platform    TEXT NOT NULL,
    thread_id   TEXT NOT NULL,
    opened_at   TEXT NOT NULL,
    PRIMARY KEY (platform, thread_id)
);
