-- wrk script: POST /v1/reports with a valid citizen report.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"category":"assault","description":"bench report","lat":41.879,"lon":-87.63,"occurred_at":"OCCURRED_AT"}'
