-- Reports: one row per report id, upserted by the processor.
-- Partitioned by month of occurred_at so a year of data stays interactive.
CREATE TABLE IF NOT EXISTS reports (
  id             uuid        NOT NULL,
  source         text        NOT NULL,
  source_id      text        NOT NULL,
  raw_type       text        NOT NULL,
  raw_code       text,
  category       text        NOT NULL DEFAULT 'other',
  severity       smallint    NOT NULL DEFAULT 1,
  description    text        NOT NULL DEFAULT '',
  occurred_at    timestamptz NOT NULL,
  reported_at    timestamptz NOT NULL,
  ingested_at    timestamptz,
  processed_at   timestamptz NOT NULL DEFAULT now(),
  time_zone      text,
  lat            double precision,
  lon            double precision,
  address        text,
  url            text,
  arrest         boolean,
  cell_l10       bigint,
  cell_l13       bigint,
  cell_l16       bigint,
  neighbourhood  text,
  local_hour     smallint,
  local_weekday  smallint,
  duplicate_of   uuid,
  contact        text,          -- private: never exposed to analysts or the public API
  raw            jsonb,         -- the source record, verbatim (private)
  PRIMARY KEY (id, occurred_at),
  CHECK ((lat IS NULL) = (lon IS NULL))
) PARTITION BY RANGE (occurred_at);

-- Rows outside any monthly partition land here instead of failing the batch.
CREATE TABLE IF NOT EXISTS reports_default PARTITION OF reports DEFAULT;

CREATE INDEX IF NOT EXISTS reports_occurred_at_idx ON reports (occurred_at);
CREATE INDEX IF NOT EXISTS reports_category_idx ON reports (category, occurred_at);
CREATE INDEX IF NOT EXISTS reports_cell_l13_idx ON reports (cell_l13);
CREATE INDEX IF NOT EXISTS reports_neighbourhood_idx ON reports (neighbourhood, occurred_at);
CREATE INDEX IF NOT EXISTS reports_source_idx ON reports (source, source_id);
