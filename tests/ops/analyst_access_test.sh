#!/usr/bin/env bash
# The analyst role through psql: reads every view of schema analyst, gets the
# right numbers for rows this test wrote, never sees contact or raw, and can
# write or create nothing. Also checks that reports_ensure_month_partitions
# moves rows out of the default partition. Needs the stack (stack.sh up).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib.sh"
load_stack_env
require_env SAFESTREAM_PG_URL SAFESTREAM_ANALYST_PG_URL

app() { psql "$SAFESTREAM_PG_URL" -X -v ON_ERROR_STOP=1 -qtA "$@"; }
analyst() { psql "$SAFESTREAM_ANALYST_PG_URL" -X -v ON_ERROR_STOP=1 -qtA "$@"; }

tag=$(unique_tag)
src="opstest_$tag"
hood="ops-test-hood-$tag"
secret="ops-secret-contact-$tag"
# A cell id and a year nobody else uses, so the aggregates are ours alone.
cell=$((0x$(head -c 7 /dev/urandom | od -An -tx1 | tr -d ' \n') + 1))
year=$((1800 + RANDOM % 90))
part_year=$((2150 + RANDOM % 40))

cleanup() {
  app -c "DELETE FROM reports WHERE source = '$src'" >/dev/null 2>&1
  app -c "DROP TABLE IF EXISTS reports_${part_year}_07" >/dev/null 2>&1
}
trap cleanup EXIT

# Rows: 3 in July of $year, 2 in July of $year-1 (year-over-year +50%), one
# duplicate (left out of every aggregate), 2 in the last 7 days and 4 in the
# 4 weeks before in one cell, arrests true/false/unknown.
insert_sql="INSERT INTO reports (id, source, source_id, raw_type, category, severity, occurred_at, reported_at,
  lat, lon, arrest, cell_l13, neighbourhood, local_hour, local_weekday, duplicate_of, contact, raw) VALUES"
row() {  # row N OCCURRED_AT CATEGORY ARREST DUPLICATE_OF
  echo "(gen_random_uuid(), '$src', '$src-$1', 'TEST', '$3', 2, $2, now(), 41.88, -87.63, $4, $cell, '$hood', 13, 3, $5,
         '$secret', '{\"contact\": \"$secret\"}')"
}
rows=(
  "$(row 1 "'$year-07-03 12:00:00+00'" theft true NULL)"
  "$(row 2 "'$year-07-04 12:00:00+00'" theft false NULL)"
  "$(row 3 "'$year-07-05 12:00:00+00'" assault NULL NULL)"
  "$(row 4 "'$((year - 1))-07-03 12:00:00+00'" theft NULL NULL)"
  "$(row 5 "'$((year - 1))-07-04 12:00:00+00'" theft NULL NULL)"
  "$(row 6 "'$year-07-06 12:00:00+00'" theft true "'00000000-0000-0000-0000-000000000001'")"
  "$(row 7 "now() - interval '1 day'" burglary NULL NULL)"
  "$(row 8 "now() - interval '2 days'" burglary NULL NULL)"
  "$(row 9 "now() - interval '10 days'" theft NULL NULL)"
  "$(row 10 "now() - interval '11 days'" theft NULL NULL)"
  "$(row 11 "now() - interval '20 days'" theft NULL NULL)"
  "$(row 12 "now() - interval '21 days'" theft NULL NULL)"
)
joined=$(IFS=,; echo "${rows[*]}")
if ! app -c "$insert_sql $joined" >/dev/null; then
  echo "FAIL: could not insert the test rows as the application role" >&2; exit 1
fi

# --- every view is readable, and the set of views is the documented one ---
expected_views="arrests cities city_neighbourhoods hot_cells_this_week neighbourhoods reports reports_by_hour_weekday reports_by_month reports_by_month_category source_share top_categories"
views=$(analyst -c "SELECT string_agg(viewname, ' ' ORDER BY viewname) FROM pg_views WHERE schemaname = 'analyst'")
check "analyst schema has the documented views (got: $views)" test "$views" = "$expected_views"
for v in $expected_views; do
  out=$(analyst -c "SELECT count(*) FROM analyst.$v" 2>&1)
  check "analyst reads analyst.$v ($out)" grep -qE '^[0-9]+$' <<<"$out"
done
# Plain names resolve to the analyst schema (search_path "$user", public).
out=$(analyst -c "SELECT count(*) FROM reports WHERE source = '$src'" 2>&1)
check "unqualified 'reports' is analyst.reports for the analyst (got $out)" test "$out" = "12"

# --- the numbers are right for what this test wrote ---
out=$(analyst -c "SELECT reports, share_pct = round(100.0 * reports / (SELECT sum(reports) FROM source_share), 2)
                  FROM source_share WHERE source = '$src'" 2>&1)
check "source_share counts 11 distinct reports, duplicate excluded (got $out)" test "$out" = "11|t"
out=$(analyst -c "SELECT reports, reports_year_before, yoy_change_pct FROM reports_by_month WHERE month = '$year-07-01'" 2>&1)
check "reports_by_month: 3 vs 2 a year before = +50% (got $out)" test "$out" = "3|2|50.0"
out=$(analyst -c "SELECT reports, reports_year_before, yoy_change_pct FROM reports_by_month_category
                  WHERE month = '$year-07-01' AND category = 'theft'" 2>&1)
check "reports_by_month_category: theft 2 vs 2 = 0% (got $out)" test "$out" = "2|2|0.0"
out=$(analyst -c "SELECT reports_with_outcome, arrests, arrest_rate_pct FROM arrests WHERE source = '$src' AND category = 'theft'" 2>&1)
check "arrests: theft 1 of 2 with an outcome (got $out)" test "$out" = "2|1|50.0"
out=$(analyst -c "SELECT reports, reports_last_30_days, top_category FROM neighbourhoods WHERE neighbourhood = '$hood'" 2>&1)
check "neighbourhoods: 11 reports, 6 recent, theft on top (got $out)" test "$out" = "11|6|theft"
out=$(analyst -c "SELECT reports_7_days, weekly_avg_4_weeks_before, neighbourhood, top_category FROM hot_cells_this_week WHERE cell_l13 = $cell" 2>&1)
check "hot_cells_this_week: 2 this week vs 1.0 a week before (got $out)" test "$out" = "2|1.0|$hood|burglary"
out=$(analyst -c "SELECT reports >= 11, weekday_name FROM reports_by_hour_weekday WHERE weekday = 3 AND hour = 13" 2>&1)
check "reports_by_hour_weekday has Wednesday 13:00 (got $out)" test "$out" = "t|Wed"
out=$(analyst -c "SELECT reports >= 8 FROM top_categories WHERE category = 'theft'" 2>&1)
check "top_categories counts theft (got $out)" test "$out" = "t"

# --- private data never reaches the analyst ---
for col in contact raw; do
  out=$(analyst -c "SELECT $col FROM analyst.reports LIMIT 1" 2>&1)
  check "analyst.reports has no column $col" grep -q "column \"$col\" does not exist" <<<"$out"
done
for v in $expected_views; do
  out=$(analyst -c "SELECT count(*) FROM analyst.$v t WHERE t::text LIKE '%$secret%'" 2>&1)
  check "analyst.$v does not show the private contact (got $out)" test "$out" = "0"
done
for q in "SELECT contact FROM public.reports LIMIT 1" "SELECT raw FROM public.reports LIMIT 1" \
         "SELECT count(*) FROM public.reports" "SELECT count(*) FROM public.reports_default" \
         "SELECT count(*) FROM public.subscriptions" "SELECT count(*) FROM public.schema_migrations"; do
  out=$(analyst -c "$q" 2>&1)
  check "analyst is refused: $q" grep -q "permission denied" <<<"$out"
done

# --- the analyst writes and creates nothing ---
for q in \
  "INSERT INTO analyst.reports (id, source, source_id, raw_type, occurred_at, reported_at) VALUES (gen_random_uuid(), '$src', 'x', 'x', now(), now())" \
  "UPDATE analyst.reports SET description = 'x' WHERE source = '$src'" \
  "DELETE FROM analyst.reports WHERE source = '$src'" \
  "INSERT INTO public.reports (id, source, source_id, raw_type, occurred_at, reported_at) VALUES (gen_random_uuid(), '$src', 'x', 'x', now(), now())" \
  "UPDATE public.reports SET description = 'x' WHERE source = '$src'" \
  "DELETE FROM public.reports WHERE source = '$src'" \
  "TRUNCATE public.reports" \
  "CREATE TABLE analyst.ops_test_$tag (x int)" \
  "CREATE VIEW analyst.ops_test_$tag AS SELECT 1" \
  "CREATE TABLE public.ops_test_$tag (x int)" \
  "CREATE TEMP TABLE ops_test_$tag (x int)" \
  "CREATE SCHEMA ops_test_$tag" \
  "SELECT public.reports_maintain_partitions(1)" \
  "SELECT public.reports_ensure_month_partitions('2199-01-01', '2199-01-01')"; do
  out=$(analyst -c "$q" 2>&1)
  check "analyst is refused: ${q:0:60}" grep -q "permission denied" <<<"$out"
done
out=$(app -c "SELECT count(*) FROM reports WHERE source = '$src' AND description = ''" 2>&1)
check "the test rows are unchanged after the refused writes (got $out)" test "$out" = "12"

# --- monthly partitions: rows in the default partition move into a new one ---
app -c "$insert_sql $(row 13 "'$part_year-07-10 00:00:00+00'" theft NULL NULL)" >/dev/null
out=$(app -c "SELECT tableoid::regclass FROM reports WHERE source_id = '$src-13'" 2>&1)
check "a row of a month without partition lands in reports_default (got $out)" test "$out" = "reports_default"
out=$(app -c "SELECT reports_ensure_month_partitions('$part_year-07-01', '$part_year-07-01'), reports_ensure_month_partitions('$part_year-07-01', '$part_year-07-01')" 2>&1)
check "reports_ensure_month_partitions creates once, then nothing (got $out)" test "$out" = "1|0"
out=$(app -c "SELECT tableoid::regclass FROM reports WHERE source_id = '$src-13'" 2>&1)
check "the row moved into reports_${part_year}_07 (got $out)" test "$out" = "reports_${part_year}_07"
out=$(app -c "SELECT count(*) FROM pg_inherits WHERE inhparent = 'reports'::regclass AND inhrelid::regclass::text ~ '^reports_[0-9]{4}_[0-9]{2}$'" 2>&1)
check "the migration made monthly partitions for the current year (got $out)" test "${out:-0}" -ge 16

finish
