-- Counts of non-duplicate reports per local day, city, category and
-- source, with the local hours of the day, for /v1/stats/categories,
-- trends, change and hours (api/stats_query.cc). A year of a city was an
-- aggregate of ~500,000 report rows per question (1-2 s on this machine);
-- from these rows it is ~5,500 rows plus the reports of the two partial days
-- at the window's ends.
--
-- Kept by triggers on reports, in the transaction of each write, so a count
-- is exactly as committed as the rows it counts: a processor batch that
-- rolls back leaves no count behind, a retried batch that rewrites the same
-- rows adds nothing (its UPDATE's old and new rows cancel and no row is
-- written), a report that changes category, day or hour, or becomes a
-- duplicate (duplicate_of), moves its count, and the processor's DELETE of
-- a row moved to another occurred_at takes its count away.
--
-- The rows are deltas, only ever inserted by the triggers: a count is the sum
-- of the rows of its key. No writer waits for another's row lock (the
-- processor writes shards in parallel transactions, which would otherwise
-- queue, or deadlock, on the same day's rows). report_day_counts_compact()
-- folds each key's rows into one (the API calls it at most once a minute,
-- api/postgres_store.cc); it deletes only rows it sees and inserts their
-- sums in the same transaction, so it is exact alongside the writers.
--
-- Not seen by the triggers: writes to a partition by name and TRUNCATE or
-- DROP of a partition. reports_ensure_month_partitions only moves rows
-- between partitions (no count changes); after a retention job drops a
-- month, run SELECT report_day_counts_rebuild().
--
-- day: the local date of occurred_at in the report's zone (UTC without
-- one), the same day, month and year the statistics group by; weekday is the
-- processor's local_weekday (ISO, 1 = Monday) and hNN counts local_hour NN.
CREATE TABLE IF NOT EXISTS report_day_counts (
  city      text,
  time_zone text     NOT NULL,
  day       date     NOT NULL,
  weekday   smallint,
  category  text     NOT NULL,
  source    text     NOT NULL,
  n         integer  NOT NULL,
  h00 integer NOT NULL DEFAULT 0,
  h01 integer NOT NULL DEFAULT 0,
  h02 integer NOT NULL DEFAULT 0,
  h03 integer NOT NULL DEFAULT 0,
  h04 integer NOT NULL DEFAULT 0,
  h05 integer NOT NULL DEFAULT 0,
  h06 integer NOT NULL DEFAULT 0,
  h07 integer NOT NULL DEFAULT 0,
  h08 integer NOT NULL DEFAULT 0,
  h09 integer NOT NULL DEFAULT 0,
  h10 integer NOT NULL DEFAULT 0,
  h11 integer NOT NULL DEFAULT 0,
  h12 integer NOT NULL DEFAULT 0,
  h13 integer NOT NULL DEFAULT 0,
  h14 integer NOT NULL DEFAULT 0,
  h15 integer NOT NULL DEFAULT 0,
  h16 integer NOT NULL DEFAULT 0,
  h17 integer NOT NULL DEFAULT 0,
  h18 integer NOT NULL DEFAULT 0,
  h19 integer NOT NULL DEFAULT 0,
  h20 integer NOT NULL DEFAULT 0,
  h21 integer NOT NULL DEFAULT 0,
  h22 integer NOT NULL DEFAULT 0,
  h23 integer NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS report_day_counts_day_idx ON report_day_counts (day, city);

CREATE OR REPLACE FUNCTION report_day_counts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO report_day_counts (city, time_zone, day, weekday, category, source, n, h00, h01, h02, h03, h04, h05, h06, h07, h08, h09, h10, h11, h12, h13, h14, h15, h16, h17, h18, h19, h20, h21, h22, h23)
  SELECT city, coalesce(time_zone, 'UTC'), (occurred_at AT TIME ZONE coalesce(time_zone, 'UTC'))::date, local_weekday, category, source, count(*), count(*) FILTER (WHERE local_hour = 0), count(*) FILTER (WHERE local_hour = 1), count(*) FILTER (WHERE local_hour = 2), count(*) FILTER (WHERE local_hour = 3), count(*) FILTER (WHERE local_hour = 4), count(*) FILTER (WHERE local_hour = 5), count(*) FILTER (WHERE local_hour = 6), count(*) FILTER (WHERE local_hour = 7), count(*) FILTER (WHERE local_hour = 8), count(*) FILTER (WHERE local_hour = 9), count(*) FILTER (WHERE local_hour = 10), count(*) FILTER (WHERE local_hour = 11), count(*) FILTER (WHERE local_hour = 12), count(*) FILTER (WHERE local_hour = 13), count(*) FILTER (WHERE local_hour = 14), count(*) FILTER (WHERE local_hour = 15), count(*) FILTER (WHERE local_hour = 16), count(*) FILTER (WHERE local_hour = 17), count(*) FILTER (WHERE local_hour = 18), count(*) FILTER (WHERE local_hour = 19), count(*) FILTER (WHERE local_hour = 20), count(*) FILTER (WHERE local_hour = 21), count(*) FILTER (WHERE local_hour = 22), count(*) FILTER (WHERE local_hour = 23)
  FROM new_rows WHERE duplicate_of IS NULL
  GROUP BY 1, 2, 3, 4, 5, 6;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION report_day_counts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO report_day_counts (city, time_zone, day, weekday, category, source, n, h00, h01, h02, h03, h04, h05, h06, h07, h08, h09, h10, h11, h12, h13, h14, h15, h16, h17, h18, h19, h20, h21, h22, h23)
  SELECT city, coalesce(time_zone, 'UTC'), (occurred_at AT TIME ZONE coalesce(time_zone, 'UTC'))::date, local_weekday, category, source, -count(*), -count(*) FILTER (WHERE local_hour = 0), -count(*) FILTER (WHERE local_hour = 1), -count(*) FILTER (WHERE local_hour = 2), -count(*) FILTER (WHERE local_hour = 3), -count(*) FILTER (WHERE local_hour = 4), -count(*) FILTER (WHERE local_hour = 5), -count(*) FILTER (WHERE local_hour = 6), -count(*) FILTER (WHERE local_hour = 7), -count(*) FILTER (WHERE local_hour = 8), -count(*) FILTER (WHERE local_hour = 9), -count(*) FILTER (WHERE local_hour = 10), -count(*) FILTER (WHERE local_hour = 11), -count(*) FILTER (WHERE local_hour = 12), -count(*) FILTER (WHERE local_hour = 13), -count(*) FILTER (WHERE local_hour = 14), -count(*) FILTER (WHERE local_hour = 15), -count(*) FILTER (WHERE local_hour = 16), -count(*) FILTER (WHERE local_hour = 17), -count(*) FILTER (WHERE local_hour = 18), -count(*) FILTER (WHERE local_hour = 19), -count(*) FILTER (WHERE local_hour = 20), -count(*) FILTER (WHERE local_hour = 21), -count(*) FILTER (WHERE local_hour = 22), -count(*) FILTER (WHERE local_hour = 23)
  FROM old_rows WHERE duplicate_of IS NULL
  GROUP BY 1, 2, 3, 4, 5, 6;
  RETURN NULL;
END $$;

-- Old rows count -1, new rows +1; keys whose counts cancel write nothing.
CREATE OR REPLACE FUNCTION report_day_counts_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO report_day_counts (city, time_zone, day, weekday, category, source, n, h00, h01, h02, h03, h04, h05, h06, h07, h08, h09, h10, h11, h12, h13, h14, h15, h16, h17, h18, h19, h20, h21, h22, h23)
  SELECT city, coalesce(time_zone, 'UTC'), (occurred_at AT TIME ZONE coalesce(time_zone, 'UTC'))::date, local_weekday, category, source, sum(d), coalesce(sum(d) FILTER (WHERE local_hour = 0), 0), coalesce(sum(d) FILTER (WHERE local_hour = 1), 0), coalesce(sum(d) FILTER (WHERE local_hour = 2), 0), coalesce(sum(d) FILTER (WHERE local_hour = 3), 0), coalesce(sum(d) FILTER (WHERE local_hour = 4), 0), coalesce(sum(d) FILTER (WHERE local_hour = 5), 0), coalesce(sum(d) FILTER (WHERE local_hour = 6), 0), coalesce(sum(d) FILTER (WHERE local_hour = 7), 0), coalesce(sum(d) FILTER (WHERE local_hour = 8), 0), coalesce(sum(d) FILTER (WHERE local_hour = 9), 0), coalesce(sum(d) FILTER (WHERE local_hour = 10), 0), coalesce(sum(d) FILTER (WHERE local_hour = 11), 0), coalesce(sum(d) FILTER (WHERE local_hour = 12), 0), coalesce(sum(d) FILTER (WHERE local_hour = 13), 0), coalesce(sum(d) FILTER (WHERE local_hour = 14), 0), coalesce(sum(d) FILTER (WHERE local_hour = 15), 0), coalesce(sum(d) FILTER (WHERE local_hour = 16), 0), coalesce(sum(d) FILTER (WHERE local_hour = 17), 0), coalesce(sum(d) FILTER (WHERE local_hour = 18), 0), coalesce(sum(d) FILTER (WHERE local_hour = 19), 0), coalesce(sum(d) FILTER (WHERE local_hour = 20), 0), coalesce(sum(d) FILTER (WHERE local_hour = 21), 0), coalesce(sum(d) FILTER (WHERE local_hour = 22), 0), coalesce(sum(d) FILTER (WHERE local_hour = 23), 0)
  FROM (SELECT *, 1 AS d FROM new_rows WHERE duplicate_of IS NULL
        UNION ALL
        SELECT *, -1 AS d FROM old_rows WHERE duplicate_of IS NULL) x
  GROUP BY 1, 2, 3, 4, 5, 6
  HAVING sum(d) <> 0 OR sum(d) FILTER (WHERE local_hour = 0) <> 0 OR sum(d) FILTER (WHERE local_hour = 1) <> 0 OR sum(d) FILTER (WHERE local_hour = 2) <> 0 OR sum(d) FILTER (WHERE local_hour = 3) <> 0 OR sum(d) FILTER (WHERE local_hour = 4) <> 0 OR sum(d) FILTER (WHERE local_hour = 5) <> 0 OR sum(d) FILTER (WHERE local_hour = 6) <> 0 OR sum(d) FILTER (WHERE local_hour = 7) <> 0 OR sum(d) FILTER (WHERE local_hour = 8) <> 0 OR sum(d) FILTER (WHERE local_hour = 9) <> 0 OR sum(d) FILTER (WHERE local_hour = 10) <> 0 OR sum(d) FILTER (WHERE local_hour = 11) <> 0 OR sum(d) FILTER (WHERE local_hour = 12) <> 0 OR sum(d) FILTER (WHERE local_hour = 13) <> 0 OR sum(d) FILTER (WHERE local_hour = 14) <> 0 OR sum(d) FILTER (WHERE local_hour = 15) <> 0 OR sum(d) FILTER (WHERE local_hour = 16) <> 0 OR sum(d) FILTER (WHERE local_hour = 17) <> 0 OR sum(d) FILTER (WHERE local_hour = 18) <> 0 OR sum(d) FILTER (WHERE local_hour = 19) <> 0 OR sum(d) FILTER (WHERE local_hour = 20) <> 0 OR sum(d) FILTER (WHERE local_hour = 21) <> 0 OR sum(d) FILTER (WHERE local_hour = 22) <> 0 OR sum(d) FILTER (WHERE local_hour = 23) <> 0;
  RETURN NULL;
END $$;

-- Folds the rows of each key that has several into one (dropping keys that
-- sum to nothing). Returns the number of rows written. Concurrent callers
-- skip (one folds at a time); writers never wait for it.
CREATE OR REPLACE FUNCTION report_day_counts_compact() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  written integer;
BEGIN
  IF NOT pg_try_advisory_xact_lock(7263542) THEN
    RETURN 0;
  END IF;
  WITH several AS (
    SELECT city, time_zone, day, weekday, category, source FROM report_day_counts GROUP BY city, time_zone, day, weekday, category, source HAVING count(*) > 1
  ), gone AS (
    DELETE FROM report_day_counts c USING several s
    WHERE c.city IS NOT DISTINCT FROM s.city AND c.time_zone = s.time_zone AND c.day = s.day
      AND c.weekday IS NOT DISTINCT FROM s.weekday AND c.category = s.category AND c.source = s.source
    RETURNING c.*
  )
  INSERT INTO report_day_counts (city, time_zone, day, weekday, category, source, n, h00, h01, h02, h03, h04, h05, h06, h07, h08, h09, h10, h11, h12, h13, h14, h15, h16, h17, h18, h19, h20, h21, h22, h23)
  SELECT city, time_zone, day, weekday, category, source, sum(n), sum(h00), sum(h01), sum(h02), sum(h03), sum(h04), sum(h05), sum(h06), sum(h07), sum(h08), sum(h09), sum(h10), sum(h11), sum(h12), sum(h13), sum(h14), sum(h15), sum(h16), sum(h17), sum(h18), sum(h19), sum(h20), sum(h21), sum(h22), sum(h23) FROM gone
  GROUP BY city, time_zone, day, weekday, category, source
  HAVING sum(n) <> 0 OR sum(h00) <> 0 OR sum(h01) <> 0 OR sum(h02) <> 0 OR sum(h03) <> 0 OR sum(h04) <> 0 OR sum(h05) <> 0 OR sum(h06) <> 0 OR sum(h07) <> 0 OR sum(h08) <> 0 OR sum(h09) <> 0 OR sum(h10) <> 0 OR sum(h11) <> 0 OR sum(h12) <> 0 OR sum(h13) <> 0 OR sum(h14) <> 0 OR sum(h15) <> 0 OR sum(h16) <> 0 OR sum(h17) <> 0 OR sum(h18) <> 0 OR sum(h19) <> 0 OR sum(h20) <> 0 OR sum(h21) <> 0 OR sum(h22) <> 0 OR sum(h23) <> 0;
  GET DIAGNOSTICS written = ROW_COUNT;
  RETURN written;
END $$;

-- Recounts everything from reports (after a partition was dropped or
-- truncated). Blocks writers of reports while it runs.
CREATE OR REPLACE FUNCTION report_day_counts_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  LOCK TABLE reports IN SHARE MODE;
  DELETE FROM report_day_counts;
  INSERT INTO report_day_counts (city, time_zone, day, weekday, category, source, n, h00, h01, h02, h03, h04, h05, h06, h07, h08, h09, h10, h11, h12, h13, h14, h15, h16, h17, h18, h19, h20, h21, h22, h23)
  SELECT city, coalesce(time_zone, 'UTC'), (occurred_at AT TIME ZONE coalesce(time_zone, 'UTC'))::date, local_weekday, category, source, count(*), count(*) FILTER (WHERE local_hour = 0), count(*) FILTER (WHERE local_hour = 1), count(*) FILTER (WHERE local_hour = 2), count(*) FILTER (WHERE local_hour = 3), count(*) FILTER (WHERE local_hour = 4), count(*) FILTER (WHERE local_hour = 5), count(*) FILTER (WHERE local_hour = 6), count(*) FILTER (WHERE local_hour = 7), count(*) FILTER (WHERE local_hour = 8), count(*) FILTER (WHERE local_hour = 9), count(*) FILTER (WHERE local_hour = 10), count(*) FILTER (WHERE local_hour = 11), count(*) FILTER (WHERE local_hour = 12), count(*) FILTER (WHERE local_hour = 13), count(*) FILTER (WHERE local_hour = 14), count(*) FILTER (WHERE local_hour = 15), count(*) FILTER (WHERE local_hour = 16), count(*) FILTER (WHERE local_hour = 17), count(*) FILTER (WHERE local_hour = 18), count(*) FILTER (WHERE local_hour = 19), count(*) FILTER (WHERE local_hour = 20), count(*) FILTER (WHERE local_hour = 21), count(*) FILTER (WHERE local_hour = 22), count(*) FILTER (WHERE local_hour = 23)
  FROM reports WHERE duplicate_of IS NULL
  GROUP BY 1, 2, 3, 4, 5, 6;
END $$;
REVOKE EXECUTE ON FUNCTION report_day_counts_compact() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION report_day_counts_rebuild() FROM PUBLIC;

-- The triggers first, then the counts of the rows already there: creating a
-- trigger locks out writers of reports until this migration commits, so no
-- row is counted twice or missed.
DROP TRIGGER IF EXISTS report_day_counts_ins ON reports;
CREATE TRIGGER report_day_counts_ins AFTER INSERT ON reports
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_day_counts_inserted();
DROP TRIGGER IF EXISTS report_day_counts_upd ON reports;
CREATE TRIGGER report_day_counts_upd AFTER UPDATE ON reports
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_day_counts_updated();
DROP TRIGGER IF EXISTS report_day_counts_del ON reports;
CREATE TRIGGER report_day_counts_del AFTER DELETE ON reports
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION report_day_counts_deleted();
SELECT report_day_counts_rebuild();
