-- Replaces 0400's index with a partial one: the API's near=/bbox= searches
-- only show reports that are not duplicates (duplicate_of IS NULL), and in a
-- busy place most near-identical citizen reports are duplicates, which the
-- full index made the search read and throw away.
DROP INDEX IF EXISTS reports_lat_lon_idx;
CREATE INDEX IF NOT EXISTS reports_lat_lon_live_idx ON reports (lat, lon) WHERE duplicate_of IS NULL;
