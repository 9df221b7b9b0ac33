-- The processor's upsert of report_ids reports which ids moved (a later
-- version with another occurred_at) and from where: the ON CONFLICT update
-- copies the old occurred_at into moved_from, and RETURNING hands it back, so
-- the old row can be deleted by exact key without a second lookup per id.
-- NULL for an id inserted fresh; otherwise the occurred_at it last moved from.
ALTER TABLE report_ids ADD COLUMN IF NOT EXISTS moved_from timestamptz;
