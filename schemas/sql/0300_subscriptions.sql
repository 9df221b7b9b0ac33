-- Alert subscriptions: the source of truth. The API writes; the processor
-- keeps an in-memory cell index and hears changes through NOTIFY on channel
-- 'safestream_subscriptions' (payload: {"op":"INSERT|UPDATE|DELETE","id":"<uuid>"}).
CREATE TABLE IF NOT EXISTS subscriptions (
  id            uuid PRIMARY KEY,
  token_hash    text NOT NULL,                 -- SHA-256 hex of the bearer token; the token itself is never stored
  area_type     text NOT NULL CHECK (area_type IN ('circle', 'neighbourhood', 'polygon')),
  center_lat    double precision,              -- circle
  center_lon    double precision,
  radius_m      double precision CHECK (radius_m IS NULL OR radius_m BETWEEN 50 AND 20000),
  neighbourhood text,                          -- neighbourhood: a name from the boundary files
  polygon       jsonb,                         -- polygon: GeoJSON Polygon "coordinates" ([[[lon,lat],...]], holes allowed)
  categories    text[] NOT NULL DEFAULT '{}',  -- empty: every category
  min_severity  smallint NOT NULL DEFAULT 1 CHECK (min_severity BETWEEN 1 AND 5),
  time_zone     text NOT NULL DEFAULT 'UTC',   -- IANA zone for quiet hours
  quiet_start   smallint CHECK (quiet_start BETWEEN 0 AND 1439),  -- minutes after local midnight; both or neither
  quiet_end     smallint CHECK (quiet_end BETWEEN 0 AND 1439),
  max_per_hour  integer CHECK (max_per_hour IS NULL OR max_per_hour >= 1),  -- throttle; NULL: unlimited
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  CHECK ((area_type = 'circle') = (center_lat IS NOT NULL AND center_lon IS NOT NULL AND radius_m IS NOT NULL)),
  CHECK ((area_type = 'neighbourhood') = (neighbourhood IS NOT NULL)),
  CHECK ((area_type = 'polygon') = (polygon IS NOT NULL)),
  CHECK ((quiet_start IS NULL) = (quiet_end IS NULL))
);

CREATE OR REPLACE FUNCTION subscriptions_notify() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('safestream_subscriptions',
                    json_build_object('op', TG_OP, 'id', COALESCE(NEW.id, OLD.id))::text);
  RETURN NULL;
END $$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS subscriptions_notify ON subscriptions;
CREATE TRIGGER subscriptions_notify AFTER INSERT OR UPDATE OR DELETE ON subscriptions
  FOR EACH ROW EXECUTE FUNCTION subscriptions_notify();
