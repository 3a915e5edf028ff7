-- The device's log, one row per pushed batch instead of one per mutation. (PostgreSQL twin:
-- same file name, which explains the columns.)
CREATE TABLE device_batches (
    device_id    BLOB NOT NULL REFERENCES devices (id),
    first_seq    INTEGER NOT NULL CHECK (first_seq >= 1),
    last_seq     INTEGER NOT NULL CHECK (last_seq >= first_seq),
    hashes       BLOB NOT NULL CHECK (length(hashes) = 32 * (last_seq - first_seq + 1)),
    outcomes     TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    PRIMARY KEY (device_id, last_seq)
) STRICT;

INSERT INTO device_batches (device_id, first_seq, last_seq, hashes, outcomes, received_at)
SELECT device_id, seq, seq, hash,
       CASE WHEN json_extract(outcome, '$.outcome') = 'applied' THEN '[]'
            ELSE json_array(json_set(outcome, '$.seq', seq))
       END,
       received_at
FROM device_mutations;

DROP TABLE device_mutations;
