-- The device's log, one row per pushed batch instead of one per mutation: a batch of 500 writes
-- one row. A batch's mutations are numbered without holes (the device's position is guarded),
-- so a row is the range first_seq..last_seq, the hash of each mutation in order, and the
-- outcomes that were not `applied` (a mutation absent from `outcomes` was applied).
CREATE TABLE device_batches (
    device_id    uuid NOT NULL REFERENCES devices (id),
    first_seq    bigint NOT NULL CHECK (first_seq >= 1),
    last_seq     bigint NOT NULL CHECK (last_seq >= first_seq),
    -- The SHA-256 of each mutation's canonical CBOR, 32 bytes each, in order.
    hashes       bytea NOT NULL CHECK (length(hashes) = 32 * (last_seq - first_seq + 1)),
    -- JSON array of the outcomes answered, each with its `seq`: `{"seq": 7, "outcome": ...}`.
    outcomes     text NOT NULL,
    received_at  timestamptz NOT NULL,
    -- A retry reads the batches from the oldest number it repeats: last_seq >= that number.
    PRIMARY KEY (device_id, last_seq)
);

-- Every mutation already logged becomes a batch of one, its outcome kept as it was answered.
INSERT INTO device_batches (device_id, first_seq, last_seq, hashes, outcomes, received_at)
SELECT device_id, seq, seq, hash,
       CASE WHEN outcome::jsonb ->> 'outcome' = 'applied' THEN '[]'
            ELSE jsonb_build_array(outcome::jsonb || jsonb_build_object('seq', seq))::text
       END,
       received_at
FROM device_mutations;

DROP TABLE device_mutations;
