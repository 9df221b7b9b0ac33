-- Analyst access: monthly partitions of reports, and a read-only `analyst`
-- schema of views without the private columns (contact, raw).
--
-- Runs as the application role (database owner, no CREATEROLE), so it cannot
-- create or alter roles: the `analyst` LOGIN role is made by the operators
-- (deploy/local/stack.sh locally; docs/operations.md in production). Grants
-- are given only when that role exists; re-run the GRANT block of
-- docs/analyst.md after creating it later.
--
-- The schema is named like the role on purpose: PostgreSQL's default
-- search_path is "$user", public, so an analyst's plain `FROM reports` resolves
-- to analyst.reports without any per-role setting (which would need CREATEROLE).

------------------------------------------------------------------------------
-- Monthly partitions (UTC calendar months of occurred_at).
------------------------------------------------------------------------------

-- Creates the partition reports_YYYY_MM for every month from..to (inclusive)
-- that has none yet. Rows of that month already sitting in reports_default
-- are moved into the new partition first, because PostgreSQL refuses to
-- attach a partition whose range still has rows in the default partition.
-- Returns how many partitions it created. Safe to call repeatedly.
CREATE OR REPLACE FUNCTION reports_ensure_month_partitions(from_month date, to_month date)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  m date := date_trunc('month', from_month)::date;
  next_m date;
  part text;
  lo text;
  hi text;
  created integer := 0;
BEGIN
  WHILE m <= to_month LOOP
    next_m := (m + interval '1 month')::date;
    part := 'reports_' || to_char(m, 'YYYY_MM');
    -- Bounds as explicit UTC instants: partition bounds must not depend on
    -- the session's TimeZone.
    lo := to_char(m, 'YYYY-MM-DD') || ' 00:00:00+00';
    hi := to_char(next_m, 'YYYY-MM-DD') || ' 00:00:00+00';
    IF to_regclass(quote_ident(part)) IS NULL THEN
      EXECUTE format('CREATE TABLE %I (LIKE reports INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part);
      -- The CHECK lets ATTACH skip its validation scan of the new table.
      EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (occurred_at >= %L AND occurred_at < %L)',
                     part, part || '_range', lo, hi);
      EXECUTE format('WITH moved AS (DELETE FROM reports_default WHERE occurred_at >= %L AND occurred_at < %L RETURNING *) '
                     'INSERT INTO %I SELECT * FROM moved', lo, hi, part);
      EXECUTE format('ALTER TABLE reports ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
      EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', part, part || '_range');
      created := created + 1;
    END IF;
    m := next_m;
  END LOOP;
  RETURN created;
END $$;

-- The periodic job (deploy/systemd/safestream-partitions.timer, or cron):
-- partitions for the last year, the next `months_ahead` months, and every
-- month that has rows in reports_default (old data from a backfill).
CREATE OR REPLACE FUNCTION reports_maintain_partitions(months_ahead integer DEFAULT 3)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  created integer;
  m date;
BEGIN
  created := reports_ensure_month_partitions(
      (date_trunc('month', now() AT TIME ZONE 'UTC') - interval '12 months')::date,
      (date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => months_ahead))::date);
  FOR m IN SELECT DISTINCT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date FROM reports_default LOOP
    created := created + reports_ensure_month_partitions(m, m);
  END LOOP;
  RETURN created;
END $$;

SELECT reports_maintain_partitions(3);

------------------------------------------------------------------------------
-- The analyst schema: views only, never the private columns.
------------------------------------------------------------------------------
CREATE SCHEMA IF NOT EXISTS analyst;
COMMENT ON SCHEMA analyst IS 'Read-only views for analysts; no private fields (contact, raw).';

-- Every public column of reports, listed explicitly so that a private column
-- added to reports later is not exposed by accident.
CREATE OR REPLACE VIEW analyst.reports AS
SELECT id, source, source_id, raw_type, raw_code, category, severity, description,
       occurred_at, reported_at, ingested_at, processed_at, time_zone, lat, lon, address, url,
       arrest, cell_l10, cell_l13, cell_l16, neighbourhood, local_hour, local_weekday, duplicate_of
FROM public.reports;
COMMENT ON VIEW analyst.reports IS 'Every report (duplicates included, see duplicate_of) without contact and raw.';

-- The aggregates below count distinct incidents: a report the processor
-- marked as a duplicate of another is left out.

-- Months are UTC calendar months, the same boundaries as the partitions.
CREATE OR REPLACE VIEW analyst.reports_by_month AS
WITH m AS (
  SELECT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date AS month, count(*) AS reports
  FROM public.reports WHERE duplicate_of IS NULL GROUP BY 1
), y AS (
  -- A window, not a self-join: the planner cannot estimate the number of
  -- months, and a join of two such guesses looks huge enough to trigger
  -- (slow) JIT compilation.
  SELECT month, reports,
         sum(reports) OVER (ORDER BY month RANGE BETWEEN '1 year' PRECEDING AND '1 year' PRECEDING)::bigint
           AS reports_year_before
  FROM m
)
SELECT month, reports, reports_year_before,
       round(100.0 * (reports - reports_year_before) / NULLIF(reports_year_before, 0), 1) AS yoy_change_pct
FROM y
ORDER BY month;
COMMENT ON VIEW analyst.reports_by_month IS 'Reports per UTC month with the same month a year before and the change in percent.';

CREATE OR REPLACE VIEW analyst.reports_by_month_category AS
WITH m AS (
  SELECT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date AS month, category, count(*) AS reports
  FROM public.reports WHERE duplicate_of IS NULL GROUP BY 1, 2
), y AS (
  SELECT month, category, reports,
         sum(reports) OVER (PARTITION BY category ORDER BY month
                            RANGE BETWEEN '1 year' PRECEDING AND '1 year' PRECEDING)::bigint AS reports_year_before
  FROM m
)
SELECT month, category, reports, reports_year_before,
       round(100.0 * (reports - reports_year_before) / NULLIF(reports_year_before, 0), 1) AS yoy_change_pct
FROM y
ORDER BY month, reports DESC, category;
COMMENT ON VIEW analyst.reports_by_month_category IS 'Reports per UTC month and category, with year-over-year change.';

-- Hour and weekday are local to the place of the report (the processor
-- computes them from the report's IANA zone); ISO weekday 1 = Monday.
CREATE OR REPLACE VIEW analyst.reports_by_hour_weekday AS
SELECT local_weekday AS weekday,
       (ARRAY['Mon','Tue','Wed','Thu','Fri','Sat','Sun'])[local_weekday] AS weekday_name,
       local_hour AS hour,
       count(*) AS reports
FROM public.reports
WHERE duplicate_of IS NULL AND local_hour IS NOT NULL AND local_weekday BETWEEN 1 AND 7
GROUP BY local_weekday, local_hour
ORDER BY local_weekday, local_hour;
COMMENT ON VIEW analyst.reports_by_hour_weekday IS 'Reports per local weekday (ISO, 1 = Monday) and local hour of day.';

CREATE OR REPLACE VIEW analyst.top_categories AS
SELECT category,
       count(*) AS reports,
       round(100.0 * count(*) / sum(count(*)) OVER (), 2) AS share_pct,
       count(*) FILTER (WHERE occurred_at >= now() - interval '30 days') AS reports_last_30_days,
       max(occurred_at) AS last_occurred_at
FROM public.reports
WHERE duplicate_of IS NULL
GROUP BY category
ORDER BY reports DESC, category;
COMMENT ON VIEW analyst.top_categories IS 'Categories by number of reports, with their share and the last 30 days.';

CREATE OR REPLACE VIEW analyst.neighbourhoods AS
SELECT neighbourhood,
       count(*) AS reports,
       round(100.0 * count(*) / sum(count(*)) OVER (), 2) AS share_pct,
       count(*) FILTER (WHERE occurred_at >= now() - interval '30 days') AS reports_last_30_days,
       mode() WITHIN GROUP (ORDER BY category) AS top_category,
       round(avg(severity), 2) AS avg_severity
FROM public.reports
WHERE duplicate_of IS NULL AND neighbourhood IS NOT NULL
GROUP BY neighbourhood
ORDER BY reports DESC, neighbourhood;
COMMENT ON VIEW analyst.neighbourhoods IS 'Most affected neighbourhoods: reports, share, last 30 days, most common category.';

CREATE OR REPLACE VIEW analyst.source_share AS
SELECT source,
       count(*) AS reports,
       round(100.0 * count(*) / sum(count(*)) OVER (), 2) AS share_pct,
       min(occurred_at) AS first_occurred_at,
       max(occurred_at) AS last_occurred_at,
       max(processed_at) AS last_processed_at
FROM public.reports
WHERE duplicate_of IS NULL
GROUP BY source
ORDER BY reports DESC, source;
COMMENT ON VIEW analyst.source_share IS 'Share of reports by source, with the time span each source covers.';

-- Only sources that say whether an arrest was made (arrest IS NOT NULL)
-- count; the others would bias the rate towards zero.
CREATE OR REPLACE VIEW analyst.arrests AS
SELECT source, category,
       count(*) AS reports_with_outcome,
       count(*) FILTER (WHERE arrest) AS arrests,
       round(100.0 * count(*) FILTER (WHERE arrest) / count(*), 1) AS arrest_rate_pct
FROM public.reports
WHERE duplicate_of IS NULL AND arrest IS NOT NULL
GROUP BY source, category
ORDER BY source, reports_with_outcome DESC, category;
COMMENT ON VIEW analyst.arrests IS 'Arrest rate by source and category, for sources that report the outcome.';

-- About 1 km cells (S2 level 13) with the most reports in the last 7 days,
-- against their weekly average over the 4 weeks before.
CREATE OR REPLACE VIEW analyst.hot_cells_this_week AS
WITH recent AS (
  SELECT cell_l13, occurred_at, lat, lon, category, neighbourhood
  FROM public.reports
  WHERE duplicate_of IS NULL AND cell_l13 IS NOT NULL AND cell_l13 <> 0
    AND occurred_at >= now() - interval '35 days'
)
SELECT cell_l13,
       count(*) FILTER (WHERE occurred_at >= now() - interval '7 days') AS reports_7_days,
       round(count(*) FILTER (WHERE occurred_at < now() - interval '7 days') / 4.0, 1) AS weekly_avg_4_weeks_before,
       round(avg(lat)::numeric, 5) AS lat,
       round(avg(lon)::numeric, 5) AS lon,
       mode() WITHIN GROUP (ORDER BY neighbourhood) FILTER (WHERE occurred_at >= now() - interval '7 days') AS neighbourhood,
       mode() WITHIN GROUP (ORDER BY category) FILTER (WHERE occurred_at >= now() - interval '7 days') AS top_category
FROM recent
GROUP BY cell_l13
HAVING count(*) FILTER (WHERE occurred_at >= now() - interval '7 days') > 0
ORDER BY reports_7_days DESC, cell_l13;
COMMENT ON VIEW analyst.hot_cells_this_week IS 'S2 level-13 cells (~1 km) by reports in the last 7 days vs. the 4 weeks before.';

------------------------------------------------------------------------------
-- Privileges: the analyst reads the views and nothing else.
------------------------------------------------------------------------------
-- Nobody but the owner reaches the tables in public (PostgreSQL 15 already
-- withholds CREATE there; this also withholds USAGE), nor creates temporary
-- tables, nor calls the partition functions.
REVOKE ALL ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON SCHEMA analyst FROM PUBLIC;
DO $$BEGIN
  EXECUTE format('REVOKE TEMPORARY, CREATE ON DATABASE %I FROM PUBLIC', current_database());
END$$;
REVOKE EXECUTE ON FUNCTION reports_ensure_month_partitions(date, date) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION reports_maintain_partitions(integer) FROM PUBLIC;
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

DO $$BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'analyst') THEN
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO analyst', current_database());
    GRANT USAGE ON SCHEMA analyst TO analyst;
    GRANT SELECT ON ALL TABLES IN SCHEMA analyst TO analyst;
    -- Views added to the schema by later migrations are readable too.
    ALTER DEFAULT PRIVILEGES IN SCHEMA analyst GRANT SELECT ON TABLES TO analyst;
  ELSE
    RAISE NOTICE 'role analyst does not exist; create it and run the GRANT block of docs/analyst.md';
  END IF;
END$$;
