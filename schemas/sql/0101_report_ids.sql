-- The processor's upsert-by-id on the month-partitioned reports table.
-- reports' primary key must include the partition key (occurred_at), so a
-- later version of a report that changes occurred_at would otherwise leave
-- its old row behind in another partition. report_ids holds the one current
-- occurred_at per id: the processor's batch upsert deletes the row under the
-- old (id, occurred_at) in the same transaction when it changes.
CREATE TABLE IF NOT EXISTS report_ids (
  id          uuid        PRIMARY KEY,
  occurred_at timestamptz NOT NULL
);

-- Backfill for rows written before this table existed.
INSERT INTO report_ids (id, occurred_at)
SELECT DISTINCT ON (id) id, occurred_at FROM reports ORDER BY id, processed_at DESC
ON CONFLICT (id) DO NOTHING;

-- Time, category, cell and neighbourhood indexes are in 0001; the level-10
-- and level-16 cells are queried by the alerting and analyst views too.
CREATE INDEX IF NOT EXISTS reports_cell_l10_idx ON reports (cell_l10);
CREATE INDEX IF NOT EXISTS reports_cell_l16_idx ON reports (cell_l16);
