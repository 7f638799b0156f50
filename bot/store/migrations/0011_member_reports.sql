-- Confidant schema, version 11: reports members send to their moderators (/report).
-- A report keeps no words: what the member wrote went out in the alert and nowhere else.
-- The member is kept only to route a moderator's answer back to them: their id sealed with
-- a key derived from the deployment key (bound to the row's id, so it opens nowhere else),
-- and a keyed hash of it for the rate limit, /mydata and /forgetme. Neither names anyone
-- without the key file. `named` is the member's choice to let moderators see who they are.
-- `room_id`: the room a *named* report was made in (a thread's channel), where the policy's
-- private-thread fallback can reach the member when their private messages are closed; an
-- anonymous report keeps no room (a room narrows down who reported).
-- AUTOINCREMENT: an id is never given twice, so an answer to an old report never reaches
-- another member after an erase.
CREATE TABLE member_reports (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    platform      TEXT NOT NULL,
    policy        TEXT NOT NULL,
    member_key    BLOB NOT NULL,
    member_sealed BLOB NOT NULL,
    named         INTEGER NOT NULL DEFAULT 0,
    room_id       TEXT,
    made_at       TEXT NOT NULL,
    answered_at   TEXT,
    answers       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX member_reports_member ON member_reports (member_key, made_at);
