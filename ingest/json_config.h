#pragma once
// Reading JSON configuration with errors that name the file, the line and the
// key. Internal to ingest's config and mapping loaders (nlohmann is a heavy
// header: include this only from .cc files).
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace safestream::ingest {

class JsonDoc {
 public:
  // Parses `text`; throws core::ConfigError "file:line: ..." on a syntax error.
  JsonDoc(std::string text, std::string file);
  static JsonDoc fromFile(const std::string& path);

  const nlohmann::json& root() const { return root_; }
  const std::string& file() const { return file_; }
  // Line of the key at `path` ("sources[1].areas[0].lat"); the nearest
  // enclosing key's line when the exact path is not a key (array items).
  int lineOf(const std::string& path) const;
  // Throws core::ConfigError "file:line: key 'path': message".
  [[noreturn]] void fail(const std::string& path, const std::string& message) const;

 private:
  std::string text_;
  std::string file_;
  nlohmann::json root_;
  std::map<std::string, int> keyLines_;  // path -> 1-based line of its key
};

// Typed access to one JSON object of a JsonDoc; every error names its key.
class ObjectReader {
 public:
  ObjectReader(const JsonDoc& doc, const nlohmann::json& object, std::string path);

  bool has(const std::string& key) const;
  std::string string(const std::string& key) const;  // required, non-empty
  std::string string(const std::string& key, const std::string& fallback) const;
  double number(const std::string& key, double lo, double hi) const;  // required
  double number(const std::string& key, double lo, double hi, double fallback) const;
  bool boolean(const std::string& key, bool fallback) const;
  const nlohmann::json& array(const std::string& key) const;  // required, non-empty
  ObjectReader object(const std::string& key) const;          // required
  std::vector<std::string> strings(const std::string& key) const;  // required, non-empty
  // Rejects keys not in `known` (a typo must not be silently ignored).
  void allowOnly(const std::set<std::string>& known) const;
  std::string pathOf(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  const std::string& path() const { return path_; }
  const JsonDoc& doc() const { return doc_; }
  const nlohmann::json& json() const { return obj_; }
  [[noreturn]] void fail(const std::string& key, const std::string& message) const {
    doc_.fail(pathOf(key), message);
  }

 private:
  const nlohmann::json& get(const std::string& key) const;
  const JsonDoc& doc_;
  const nlohmann::json& obj_;
  std::string path_;
};

struct ColumnMapping;
// A column mapping embedded in a config file (errors name that file and line).
ColumnMapping columnMappingFromReader(const ObjectReader& reader);

}  // namespace safestream::ingest
