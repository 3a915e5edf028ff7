-- Payments inserted many at a time (a sync batch inserts up to 1,000 in one statement) number
-- their changes once per statement instead of once per row: one bump of each scope's counter
-- by the number of its new rows, then one insert into the feed. Row by row, the same counter
-- row was updated hundreds of times in one transaction, each update walking the row's
-- growing chain of versions.
--
-- Updates and deletes of payments stay row by row (they come one at a time).

CREATE FUNCTION sync_record_inserts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH counts AS (
        SELECT tontine_id, count(*) AS n FROM new_rows GROUP BY tontine_id
    ), bumped AS (
        INSERT INTO sync_scopes (tontine_id, last_seq)
            SELECT tontine_id, n FROM counts
        ON CONFLICT (tontine_id) DO UPDATE SET last_seq = sync_scopes.last_seq + EXCLUDED.last_seq
        RETURNING tontine_id, last_seq
    )
    INSERT INTO sync_changes (tontine_id, entity, entity_id, change_seq, deleted, changed_at)
        SELECT r.tontine_id, TG_ARGV[0], r.id,
               b.last_seq - c.n + row_number() OVER (PARTITION BY r.tontine_id ORDER BY r.id),
               false, now()
        FROM new_rows r
        JOIN counts c ON c.tontine_id = r.tontine_id
        JOIN bumped b ON b.tontine_id = r.tontine_id
    ON CONFLICT (tontine_id, entity, entity_id) DO UPDATE
        SET change_seq = EXCLUDED.change_seq, deleted = EXCLUDED.deleted,
            changed_at = EXCLUDED.changed_at;
    RETURN NULL;
END $$;

DROP TRIGGER payments_sync ON payments;
CREATE TRIGGER payments_sync AFTER UPDATE OR DELETE ON payments
    FOR EACH ROW EXECUTE FUNCTION sync_record_change('payment');
CREATE TRIGGER payments_sync_insert AFTER INSERT ON payments
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_record_inserts('payment');
