#include "ingest/csv_reader.h"

namespace safestream::ingest {

CsvReader::CsvReader(std::istream& in, std::size_t maxRecordBytes)
    : buf_(in.rdbuf()), maxRecordBytes_(maxRecordBytes) {}

bool CsvReader::next(std::vector<std::string>& fields) {
  using Traits = std::char_traits<char>;
  fields.clear();
  error_.clear();
  recordLine_ = lineNo_;
  int c = buf_->sbumpc();
  if (c == Traits::eof()) return false;
  // A UTF-8 byte order mark at the very start is not part of the first name.
  if (bytes_ == 0 && c == 0xEF) {
    if (buf_->sgetc() == 0xBB) {
      buf_->sbumpc();
      if (buf_->sgetc() == 0xBF) buf_->sbumpc();
      bytes_ += 3;
      c = buf_->sbumpc();
      if (c == Traits::eof()) return false;
    }
  }
  std::string field;
  std::size_t recordBytes = 0;
  bool inQuotes = false;
  bool wasQuoted = false;
  for (;; c = buf_->sbumpc()) {
    if (c == Traits::eof()) {
      if (inQuotes) error_ = "unterminated quoted field";
      fields.push_back(std::move(field));
      return true;
    }
    ++bytes_;
    if (++recordBytes > maxRecordBytes_ && error_.empty()) {
      error_ = "record longer than " + std::to_string(maxRecordBytes_) + " bytes";
      inQuotes = false;  // resynchronise at the next line break
    }
    const char ch = static_cast<char>(c);
    if (ch == '\n') ++lineNo_;
    if (inQuotes) {
      if (ch == '"') {
        if (buf_->sgetc() == '"') {
          buf_->sbumpc();
          ++bytes_;
          field += '"';
        } else {
          inQuotes = false;
        }
      } else {
        field += ch;
      }
      continue;
    }
    if (ch == ',') {
      fields.push_back(std::move(field));
      field.clear();
      wasQuoted = false;
    } else if (ch == '\n') {
      fields.push_back(std::move(field));
      return true;
    } else if (ch == '\r') {
      if (buf_->sgetc() == '\n') continue;  // CRLF: the \n ends the record
      fields.push_back(std::move(field));
      return true;
    } else if (ch == '"' && field.empty() && !wasQuoted) {
      inQuotes = true;
      wasQuoted = true;
    } else if (error_.empty() || recordBytes <= maxRecordBytes_) {
      field += ch;
    }
  }
}

}  // namespace safestream::ingest
