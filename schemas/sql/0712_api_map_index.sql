-- The map's searches (GET /v1/reports?bbox= / near=: the newest non-duplicate
-- reports of an area, newest first) read this index only. In
-- (occurred_at, id) order, a backward scan yields rows already in the
-- answer's order, and the INCLUDE columns let the scan test the area,
-- category, source and city on the index entry itself (an index-only scan), so
-- only the limit + 1 rows it keeps are then read from the table
-- (api/report_query.cc). Before, a backward scan of the occurred_at index
-- read each candidate row from the table to test its lat/lon: on 1,000,000
-- rows about 1,600 heap pages for the 101 newest downtown reports.
CREATE INDEX IF NOT EXISTS reports_map_idx ON reports (occurred_at, id) INCLUDE (lat, lon, category, source, city)
  WHERE duplicate_of IS NULL;
