#pragma once
// Streaming RFC 4180 CSV reader: one record at a time from any std::istream,
// so a multi-GB export is read in constant memory. Quoted fields may hold
// commas, doubled quotes and line breaks. No vendor headers.
#include <cstdint>
#include <istream>
#include <string>
#include <vector>

namespace safestream::ingest {

class CsvReader {
 public:
  // `maxRecordBytes` bounds one record, so a stray quote cannot make the
  // reader swallow the rest of a huge file into memory.
  explicit CsvReader(std::istream& in, std::size_t maxRecordBytes = 1 << 20);

  // Reads the next record into `fields`; false at the end of input.
  // A malformed record (unterminated quote, over the size limit) is still
  // returned, with malformed() true and error() saying why.
  bool next(std::vector<std::string>& fields);
  bool malformed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }
  // 1-based line where the last record started.
  std::uint64_t line() const { return recordLine_; }
  // Bytes consumed so far (for progress and resumable checkpoints).
  std::uint64_t bytesRead() const { return bytes_; }

 private:
  std::streambuf* buf_;
  std::size_t maxRecordBytes_;
  std::uint64_t bytes_ = 0;
  std::uint64_t lineNo_ = 1;
  std::uint64_t recordLine_ = 0;
  std::string error_;
};

}  // namespace safestream::ingest
