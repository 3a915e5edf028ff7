-- Delivery reports from the SMS gateways. A report names the message by the id the gateway
-- gave when it accepted it (`provider_message_id`, set when the row became `envoyee`); it
-- moves the row to `delivree` (with `delivered_at`) or `echouee` (with `last_error`), never
-- backwards.
ALTER TABLE outbox ADD COLUMN delivered_at TEXT;

CREATE INDEX outbox_provider_message_idx ON outbox (provider_message_id)
    WHERE provider_message_id IS NOT NULL;
