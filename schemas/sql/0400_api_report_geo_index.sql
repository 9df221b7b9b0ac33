-- The API's near= and bbox= searches prefilter reports by a bounding box on
-- (lat, lon) before the exact distance; this index serves that range scan.
CREATE INDEX IF NOT EXISTS reports_lat_lon_idx ON reports (lat, lon);
