#include "ingest/json_config.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/result.h"

namespace safestream::ingest {
namespace {

int lineAt(const std::string& text, std::size_t offset) {
  offset = std::min(offset, text.size());
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(offset), '\n'));
}

// Records the line of every object key by path. The text is already known to
// be valid JSON, so this scanner only tracks strings, nesting and commas.
std::map<std::string, int> scanKeyLines(const std::string& text) {
  struct Frame {
    bool isArray;
    std::string path;
    int index = 0;
    std::string pendingKey;  // object: the last key seen
  };
  std::map<std::string, int> lines;
  std::vector<Frame> stack;
  int line = 1;
  std::string lastString;
  int lastStringLine = 1;
  auto childPath = [&]() -> std::string {
    if (stack.empty()) return "";
    const Frame& f = stack.back();
    if (f.isArray) return f.path + "[" + std::to_string(f.index) + "]";
    return f.path.empty() ? f.pendingKey : f.path + "." + f.pendingKey;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') ++line;
    if (c == '"') {
      std::string s;
      lastStringLine = line;
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) {
          s += text[++i];  // the escaped char is enough to tell keys apart
        } else {
          if (text[i] == '\n') ++line;
          s += text[i];
        }
      }
      lastString = std::move(s);
    } else if (c == ':') {
      if (!stack.empty() && !stack.back().isArray) {
        stack.back().pendingKey = lastString;
        lines[childPath()] = lastStringLine;
      }
    } else if (c == '{' || c == '[') {
      std::string p = childPath();
      stack.push_back(Frame{c == '[', p, 0, {}});
    } else if (c == '}' || c == ']') {
      if (!stack.empty()) stack.pop_back();
    } else if (c == ',') {
      if (!stack.empty() && stack.back().isArray) ++stack.back().index;
    }
  }
  return lines;
}

std::string typeName(const nlohmann::json& j) { return j.type_name(); }

}  // namespace

JsonDoc::JsonDoc(std::string text, std::string file) : text_(std::move(text)), file_(std::move(file)) {
  // nlohmann ends the input at a NUL byte, which would hide the rest of the file.
  if (auto nul = text_.find('\0'); nul != std::string::npos) {
    throw core::ConfigError(file_ + ":" + std::to_string(lineAt(text_, nul)) + ": not valid JSON: a NUL byte");
  }
  try {
    root_ = nlohmann::json::parse(text_);
  } catch (const nlohmann::json::parse_error& e) {
    throw core::ConfigError(file_ + ":" + std::to_string(lineAt(text_, e.byte == 0 ? 0 : e.byte - 1)) +
                            ": not valid JSON: " + e.what());
  } catch (const nlohmann::json::exception& e) {
    // out_of_range 406: a number beyond a double (1e999), found by fuzzing
    // (bench/fuzz/regressions/column_mapping/number-overflow); it carries no
    // position, so no line.
    throw core::ConfigError(file_ + ": not valid JSON: " + e.what());
  }
  keyLines_ = scanKeyLines(text_);
}

JsonDoc JsonDoc::fromFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw core::ConfigError(path + ": cannot open the file");
  std::ostringstream s;
  s << in.rdbuf();
  return JsonDoc(s.str(), path);
}

int JsonDoc::lineOf(const std::string& path) const {
  std::string p = path;
  while (!p.empty()) {
    if (auto it = keyLines_.find(p); it != keyLines_.end()) return it->second;
    const auto cut = p.find_last_of(".[");
    if (cut == std::string::npos) break;
    p.resize(cut);
  }
  return 1;
}

void JsonDoc::fail(const std::string& path, const std::string& message) const {
  throw core::ConfigError(file_ + ":" + std::to_string(lineOf(path)) + ": key '" + path + "': " + message);
}

ObjectReader::ObjectReader(const JsonDoc& doc, const nlohmann::json& object, std::string path)
    : doc_(doc), obj_(object), path_(std::move(path)) {
  if (!obj_.is_object()) doc_.fail(path_.empty() ? "(top level)" : path_, "must be an object, not " + typeName(obj_));
}

bool ObjectReader::has(const std::string& key) const {
  auto it = obj_.find(key);
  return it != obj_.end() && !it->is_null();
}

const nlohmann::json& ObjectReader::get(const std::string& key) const {
  auto it = obj_.find(key);
  if (it == obj_.end() || it->is_null()) {
    doc_.fail(pathOf(key), "is required" + (path_.empty() ? std::string() : " in '" + path_ + "'"));
  }
  return *it;
}

std::string ObjectReader::string(const std::string& key) const {
  const auto& v = get(key);
  if (!v.is_string() || v.get_ref<const std::string&>().empty()) fail(key, "must be a non-empty string");
  return v.get<std::string>();
}

std::string ObjectReader::string(const std::string& key, const std::string& fallback) const {
  return has(key) ? string(key) : fallback;
}

double ObjectReader::number(const std::string& key, double lo, double hi) const {
  const auto& v = get(key);
  if (!v.is_number()) fail(key, "must be a number, not " + typeName(v));
  const double d = v.get<double>();
  if (d < lo || d > hi) {
    std::ostringstream m;
    m << "must be between " << lo << " and " << hi << ", not " << d;
    fail(key, m.str());
  }
  return d;
}

double ObjectReader::number(const std::string& key, double lo, double hi, double fallback) const {
  return has(key) ? number(key, lo, hi) : fallback;
}

bool ObjectReader::boolean(const std::string& key, bool fallback) const {
  if (!has(key)) return fallback;
  const auto& v = get(key);
  if (!v.is_boolean()) fail(key, "must be true or false");
  return v.get<bool>();
}

const nlohmann::json& ObjectReader::array(const std::string& key) const {
  const auto& v = get(key);
  if (!v.is_array() || v.empty()) fail(key, "must be a non-empty array");
  return v;
}

ObjectReader ObjectReader::object(const std::string& key) const {
  return ObjectReader(doc_, get(key), pathOf(key));
}

std::vector<std::string> ObjectReader::strings(const std::string& key) const {
  std::vector<std::string> out;
  const auto& a = array(key);
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!a[i].is_string() || a[i].get_ref<const std::string&>().empty()) {
      doc_.fail(pathOf(key) + "[" + std::to_string(i) + "]", "must be a non-empty string");
    }
    out.push_back(a[i].get<std::string>());
  }
  return out;
}

void ObjectReader::allowOnly(const std::set<std::string>& known) const {
  for (const auto& [k, v] : obj_.items()) {
    if (!known.count(k)) {
      std::string list;
      for (const auto& s : known) list += (list.empty() ? "" : ", ") + s;
      doc_.fail(pathOf(k), "is not a known key (known: " + list + ")");
    }
  }
}

}  // namespace safestream::ingest
