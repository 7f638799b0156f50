-- Confidant schema, version 18: leases on the periodic jobs several processes share.
-- One row per job (or group of jobs) that must run in one process at a time: who holds it
-- (a random id per process start), until when (milliseconds since 1970, UTC), and an epoch
-- that grows on every takeover, so a holder that was replaced notices before it runs. Only
-- ids and times: nothing about members or messages.
CREATE TABLE job_leases (
    name         TEXT PRIMARY KEY,
    holder       TEXT NOT NULL,
    lease_until  INTEGER NOT NULL,
    epoch        INTEGER NOT NULL
);
