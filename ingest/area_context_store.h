#pragma once
// Area context that is not an incident: crime grades per ZIP code from the
// RapidAPI "Crime Data By ZipCode" API, upserted into PostgreSQL table
// area_crime_grades (schemas/sql/0200_area_crime_grades.sql) so the processor
// and analysts can join it. Interface first so the scheduler has a fake.
#include <memory>
#include <string>

#include "core/result.h"
#include "ingest/source_parsers.h"

namespace safestream::ingest {

class AreaContextStore {
 public:
  virtual ~AreaContextStore() = default;
  // Idempotent upsert by (source, zip). Thread-safe.
  virtual core::Status upsertGrades(const std::string& source, const ZipGrades& grades) = 0;
};

// libpqxx adapter. Connects lazily and reconnects after a failure; every
// statement runs with a 10 s statement_timeout.
class PostgresAreaContextStore final : public AreaContextStore {
 public:
  explicit PostgresAreaContextStore(std::string pgUrl);
  ~PostgresAreaContextStore() override;
  core::Status upsertGrades(const std::string& source, const ZipGrades& grades) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace safestream::ingest
