-- Confidant schema, version 6: private messages already taken.
-- After a crash the Matrix adapter replays the sync batch it had not finished, so a reply
-- to a check-in can arrive twice; the second must not answer the next question. The id of
-- each private message the core took is claimed here before it acts, in its own commit,
-- and kept a day (a replay comes within minutes). Ids only: never what was written.
CREATE TABLE handled_replies (
    platform    TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    handled_at  TEXT NOT NULL,
    PRIMARY KEY (platform, message_id)
);
CREATE INDEX handled_replies_age ON handled_replies (handled_at);
