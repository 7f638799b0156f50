-- Confidant schema, version 10: who could see each covered room at the last complete count.
-- Some platforms hand out the member list only in pieces (Discord sends it in rate-limited
-- chunks after every new gateway session), so a half-built list must never be compared with
-- the last one as if it were whole. An adapter reports a room's whole list once it has it;
-- the core compares it with the rows here and treats the difference as the joins and leaves
-- that happened while it was not listening (a restart, a new session), then replaces them.
-- Live joins and leaves keep the rows current in between. Ids only: never names or text.
CREATE TABLE room_presence (
    platform   TEXT NOT NULL,
    room_id    TEXT NOT NULL,
    member_id  TEXT NOT NULL,
    PRIMARY KEY (platform, room_id, member_id)
);
-- A room counted at least once: until then an empty list and "never counted" differ.
CREATE TABLE room_presence_counted (
    platform    TEXT NOT NULL,
    room_id     TEXT NOT NULL,
    counted_at  TEXT NOT NULL,
    PRIMARY KEY (platform, room_id)
);
