-- Crime grades per ZIP code (RapidAPI "Crime Data By ZipCode"), written by
-- safestream-ingest. Area context, not incidents: join on zip, e.g.
--   SELECT zip, overall_grade, breakdown->0->'Violent Crime Rates' FROM area_crime_grades;
-- The source serves every value as a string; grades stay text ("D-"), the
-- breakdown rates stay as the source's JSON.
CREATE TABLE IF NOT EXISTS area_crime_grades (
  source          text        NOT NULL,   -- e.g. rapidapi:zipgrades
  zip             text        NOT NULL CHECK (zip ~ '^[0-9]{5}$'),
  overall_grade   text,
  violent_grade   text,
  property_grade  text,
  other_grade     text,
  overall         jsonb       NOT NULL,   -- the "Overall" object, all values text
  breakdown       jsonb,                  -- the "Crime BreakDown" part as served
  raw             jsonb       NOT NULL,   -- the whole response
  fetched_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source, zip)
);

DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'analyst') THEN
    GRANT SELECT ON area_crime_grades TO analyst;
  END IF;
END $$;
