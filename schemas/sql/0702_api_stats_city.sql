-- The API's /v1/stats/* filter and group by reports.city, which 0700_cities
-- adds (the cities change owns it). Repeated here, idempotently, so the
-- statistics work on a database whichever of the two changes arrives first.
ALTER TABLE reports ADD COLUMN IF NOT EXISTS city text;
