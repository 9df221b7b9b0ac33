-- Cities (deploy/cities.json, core/cities.h): each report belongs to a city,
-- and a neighbourhood's identity is the pair (city, neighbourhood):
-- "HYDE PARK" is in both Chicago and Austin.
ALTER TABLE reports ADD COLUMN IF NOT EXISTS city text;  -- city id (chicago, los-angeles); NULL: in no configured city
CREATE INDEX IF NOT EXISTS reports_city_neighbourhood_idx ON reports (city, neighbourhood, occurred_at);

-- Neighbourhood subscriptions name their city; NULL (rows written before
-- this migration, or requests without area.city): the processor takes the
-- only city having that neighbourhood name.
ALTER TABLE subscriptions ADD COLUMN IF NOT EXISTS city text;

-- Analysts: reports per city, and neighbourhoods qualified by their city.
-- (analyst.reports is left as 0500 defines it: every run of the migrations,
-- e.g. into a replay schema, re-creates it there, and a view cannot lose a
-- column; these two views carry the city.)
CREATE OR REPLACE VIEW analyst.cities AS
SELECT city,
       count(*) AS reports,
       round(100.0 * count(*) / sum(count(*)) OVER (), 2) AS share_pct,
       count(*) FILTER (WHERE occurred_at >= now() - interval '30 days') AS reports_last_30_days,
       count(*) FILTER (WHERE category = 'other') AS reports_other,
       count(*) FILTER (WHERE category = 'non-crime') AS reports_non_crime,
       min(occurred_at) AS first_occurred_at,
       max(occurred_at) AS last_occurred_at
FROM public.reports
WHERE duplicate_of IS NULL
GROUP BY city
ORDER BY reports DESC, city;
COMMENT ON VIEW analyst.cities IS 'Reports per city (NULL: in no configured city), with what is left in other and non-crime.';

CREATE OR REPLACE VIEW analyst.city_neighbourhoods AS
SELECT city, neighbourhood,
       count(*) AS reports,
       round(100.0 * count(*) / sum(count(*)) OVER (PARTITION BY city), 2) AS share_of_city_pct,
       count(*) FILTER (WHERE occurred_at >= now() - interval '30 days') AS reports_last_30_days,
       mode() WITHIN GROUP (ORDER BY category) AS top_category,
       round(avg(severity), 2) AS avg_severity
FROM public.reports
WHERE duplicate_of IS NULL AND neighbourhood IS NOT NULL
GROUP BY city, neighbourhood
ORDER BY city, reports DESC, neighbourhood;
COMMENT ON VIEW analyst.city_neighbourhoods IS 'Most affected neighbourhoods per city: a neighbourhood is (city, name).';
