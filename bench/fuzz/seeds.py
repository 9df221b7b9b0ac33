#!/usr/bin/env python3
"""Seed corpora for the fuzz targets, made from the real samples in data/
(and the repository's own config, taxonomy and schema examples), small
enough that libFuzzer mutates them quickly.

usage: seeds.py REPO_ROOT OUT_DIR   (writes OUT_DIR/<target>/seed-N)
"""
import csv
import datetime
import io
import json
import os
import sys
import uuid

root, out = sys.argv[1], sys.argv[2]
data = os.path.join(root, "data")


def write(target, items):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    for i, item in enumerate(items):
        with open(os.path.join(d, f"seed-{i:03d}"), "wb") as f:
            f.write(item if isinstance(item, bytes) else item.encode())


# --- the Chicago CSV sample ------------------------------------------------------
with open(os.path.join(data, "chicago_crimes_2014_sample.csv"), newline="") as f:
    lines = f.read().splitlines(keepends=True)
header, rows = lines[0], lines[1:]
parsed = list(csv.DictReader(io.StringIO("".join(lines[:400]))))
write("csv_records", [header + "".join(rows[i:i + 8]) for i in range(0, 240, 24)])

# Socrata's JSON of the same rows (the portal's field names, ISO times).
def socrata(r):
    t = datetime.datetime.strptime(r["Date"], "%m/%d/%Y %I:%M:%S %p").strftime("%Y-%m-%dT%H:%M:%S.000")
    o = {"id": r["ID"], "case_number": r["Case Number"], "date": t, "block": r["Block"], "iucr": r["IUCR"],
         "primary_type": r["Primary Type"], "description": r["Description"], "arrest": r["Arrest"]}
    if r["Latitude"]:
        o["latitude"], o["longitude"] = r["Latitude"], r["Longitude"]
    return o
write("socrata", [json.dumps([socrata(r) for r in parsed[i:i + 4]]) for i in range(0, 200, 20)])

# RapidAPI incidents ("crimedata" in ingest/config/example.json), from the same rows.
def incident(r):
    t = datetime.datetime.strptime(r["Date"], "%m/%d/%Y %I:%M:%S %p").strftime("%Y-%m-%dT%H:%M:%S")
    return {"id": r["ID"], "date": t, "description": r["Primary Type"] + " " + r["Description"],
            "lat": r["Latitude"] or None, "long": r["Longitude"] or None}
write("rapidapi", [json.dumps({"incidents": [incident(r) for r in parsed[i:i + 4]]}) for i in range(0, 120, 20)] + [
    json.dumps({"Overall": {"Zipcode": "60601", "Overall Crime Grade": "D-", "Violent Crime Grade": "F"},
                "Crime BreakDown": [{"Violent Crime Rates": {"Assault": "3.1"}}]})])

# Report messages (schemas/report.v1.json) for the codec.
def report(r, enrich):
    t = datetime.datetime.strptime(r["Date"], "%m/%d/%Y %I:%M:%S %p").strftime("%Y-%m-%dT%H:%M:%S") + "-06:00"
    m = {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, "chicago/" + r["ID"])), "source": "chicago", "source_id": r["ID"],
         "raw_type": r["Primary Type"], "raw_code": r["IUCR"], "description": r["Description"], "occurred_at": t,
         "time_zone": "America/Chicago", "reported_at": t, "ingested_at": "2014-04-11T05:40:05Z",
         "address": r["Block"], "arrest": r["Arrest"] == "true", "raw": r}
    if r["Latitude"]:
        m["lat"], m["lon"] = float(r["Latitude"]), float(r["Longitude"])
    if enrich:
        m["enrichment"] = {"category": "theft", "severity": 2, "cell_l10": "880e2c", "cell_l13": "880e2cd",
                           "cell_l16": "880e2cd1", "neighbourhood": "LOOP", "local_hour": 13, "local_weekday": 2,
                           "processed_at": "2014-04-11T05:40:06Z"}
    return json.dumps(m)
write("report_codec", [report(r, i % 2 == 1) for i, r in enumerate(parsed[:12])])

# --- the SpotCrime sample ----------------------------------------------------------
with open(os.path.join(data, "spotcrime_austin_2015_sample.json")) as f:
    crimes = json.load(f)["crimes"]
write("spotcrime", [json.dumps({"crimes": crimes[i:i + 3]}) for i in range(0, 300, 30)] + ["<html>error</html>"])

# --- boundaries: a few features of each city, rings shortened -------------------
def shortened(feature, name_property):
    g = feature["geometry"]
    def ring(r):
        r = r[:: max(1, len(r) // 12)][:12]
        return r + [r[0]]
    if g["type"] == "Polygon":
        coords = [ring(r) for r in g["coordinates"]]
    else:
        coords = [[ring(r) for r in p] for p in g["coordinates"][:2]]
    return {"type": "Feature", "properties": {"name": feature["properties"].get(name_property)},
            "geometry": {"type": g["type"], "coordinates": coords}}
seeds = []
for file, prop in (("chicago_community_areas.geojson", "community"), ("austin_neighborhoods.geojson", None)):
    with open(os.path.join(data, file)) as f:
        fc = json.load(f)
    prop = prop or next(iter(fc["features"][0]["properties"]))
    for i in range(0, 6, 2):
        seeds.append(json.dumps({"type": "FeatureCollection",
                                 "features": [shortened(x, prop) for x in fc["features"][i:i + 2]]}))
write("boundaries", seeds)

# --- configuration files of the repository --------------------------------------
configs = []
for name in ("example.json", "local.json"):
    with open(os.path.join(root, "ingest", "config", name)) as f:
        configs.append(f.read())
write("sources_config", configs)
with open(os.path.join(root, "ingest", "config", "austin_mapping.json")) as f:
    mapping = f.read()
write("column_mapping", [
    mapping + "\n---\n" + json.dumps({k: str(v) for k, v in crimes[0].items()}),
    json.dumps({"source": "csv:chicago", "id": "ID", "time": "Date", "time_format": "%m/%d/%Y %I:%M:%S %p",
                "time_zone": "America/Chicago", "type": "Primary Type", "code": "IUCR", "lat": "Latitude",
                "lon": "Longitude", "arrest": "Arrest"}) + "\n---\n" + json.dumps(parsed[1]),
])
with open(os.path.join(root, "schemas", "taxonomy.v1.csv")) as f:
    taxonomy = f.read().splitlines(keepends=True)
write("taxonomy", ["".join(taxonomy[:60]) + "\n===\nTHEFT", "".join(taxonomy[60:]) + "\n===\n  motor  vehicle THEFT"])

# --- API requests ------------------------------------------------------------------
write("subscription", [
    '{"area":{"type":"circle","lat":41.88,"lon":-87.63,"radius_m":500},"categories":["theft","robbery"],'
    '"min_severity":2,"time_zone":"America/Chicago","quiet_hours":{"start":"22:00","end":"07:00"},"max_per_hour":5}',
    '{"area":{"type":"neighbourhood","name":"HYDE PARK"},"quiet_hours":"23:30-06:15"}',
    '{"area":{"type":"polygon","coordinates":[[[-87.64,41.87],[-87.62,41.87],[-87.62,41.89],[-87.64,41.89],[-87.64,41.87]],'
    '[[-87.635,41.875],[-87.63,41.875],[-87.63,41.88],[-87.635,41.875]]]}}',
    '[[[-97.75,30.26],[-97.73,30.26],[-97.73,30.28],[-97.75,30.26]]]',
    "22:00",
])
write("citizen_report", [
    '{"category":"assault","description":"two people fighting","lat":41.879,"lon":-87.63,"occurred_at":"2026-11-30T10:00:00Z"}',
    '{"category":"theft","description":"bike taken","lat":30.2672,"lon":-97.7431,"occurred_at":"2026-11-30T10:00:00-06:00",'
    '"address":"100 Congress Ave","contact":"555-0100"}',
])
write("open311_form", [
    "service_code=theft&lat=41.88&long=-87.63&description=bike+stolen&address_string=100+W+Randolph+St",
    "service_code=vandalism&lat=30.26&long=-97.74&description=graffiti%20on%20wall&email=a%40b.example"
    "&first_name=A&requested_datetime=2026-11-30T10%3A00%3A00Z&device_id=",
])
cursor = "1417392000000_" + str(uuid.uuid5(uuid.NAMESPACE_URL, "cursor"))
write("http_request", [
    "/v1/reports?bbox=-87.7,41.8,-87.6,41.9&since=2026-11-01T00:00:00Z&until=2026-12-01T00:00:00Z"
    "&category=theft,assault&limit=10&cursor=" + cursor,
    "/v1/reports?near=41.88,-87.63&radius=800&source=chicago",
    "/v1/reports/" + str(uuid.uuid5(uuid.NAMESPACE_URL, "r")),
    "/v1/subscriptions/" + str(uuid.uuid5(uuid.NAMESPACE_URL, "s")) + "/alerts?after=1700000000000-0&limit=5",
    "/open311/v2/services/theft.json",
    "/v1/reports/%00%ff?category=%E2%82%AC",
    cursor,
])
