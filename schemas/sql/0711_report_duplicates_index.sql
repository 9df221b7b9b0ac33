-- GET /v1/reports/{id} lists the near-duplicates linked to a report (the
-- rows whose duplicate_of is its id), oldest first. Without an index that is
-- a scan of every partition; partial because most reports are no duplicate.
CREATE INDEX IF NOT EXISTS reports_duplicate_of_idx ON reports (duplicate_of, occurred_at, id)
  WHERE duplicate_of IS NOT NULL;
