-- Confidant schema, version 19: a check-in intro waiting for the member's agree or decline.
-- With Discord shards run by several processes, a check-in begun with /checkin in a server
-- on one shard continues in the member's direct messages, which Discord sends to shard 0:
-- another process. That process must know which policy's intro the reply is for, so it is
-- kept here rather than in the memory of the process that asked. Ids and a policy name
-- only, never anything the member wrote; the row goes when they answer (or are erased).
CREATE TABLE checkin_consent_asked (
    platform    TEXT NOT NULL,
    member_id   TEXT NOT NULL,
    policy      TEXT NOT NULL,
    asked_at    TEXT NOT NULL,
    PRIMARY KEY (platform, member_id)
);
