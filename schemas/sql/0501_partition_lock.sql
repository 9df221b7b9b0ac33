-- reports_ensure_month_partitions (0500) takes the advisory lock the
-- processor holds while it creates the partition of a batch's month, so the
-- daily maintenance job (safestream-partitions.timer) and the processors
-- never race to create the same month. Same body otherwise.
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
  -- The processor creates the month of a batch under the same lock
  -- (processor/postgres_sink.cc); without it the daily job and a processor
  -- could both see a month missing and one CREATE would fail.
  PERFORM pg_advisory_xact_lock(7263541);
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
