-- Confidant schema, version 16: fingerprints of words that run on from one message into the next.
-- A member's consecutive posts in a confidential room are also fingerprinted where one
-- continues the other; such a fingerprint is stored with the later message and names here
-- (keyed hash of the message id, as ``message``) the earlier message whose words it holds,
-- so deleting or editing either message drops it. NULL for a message's own fingerprints.
ALTER TABLE fingerprints ADD COLUMN joined_to BYTEA;
CREATE INDEX fingerprints_joined_to ON fingerprints (joined_to) WHERE joined_to IS NOT NULL;
