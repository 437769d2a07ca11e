// SPDX-License-Identifier: MIT
#include "resolver/metrics/sketch_document.h"

#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "util/base64.h"

namespace sinkhole::metrics {

namespace {

using Json = nlohmann::ordered_json;
constexpr size_t kRegisters = HyperLogLog::kRegisters;
constexpr size_t kSparseEntry = 3;

bool is_fingerprint(const std::string& s) {
  if (s.size() != 16) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

Json window_json(const WindowSketch& w) {
  const EncodedRegisters e = encode_registers(w.registers);
  Json j = Json::object();
  j["estimate"] = std::round(w.estimate * 10) / 10;
  j["encoding"] = e.encoding;
  j["registers"] = e.data;
  return j;
}

// Throws nothing: every check returns false with *error set.
bool read_string(const Json& obj, const char* key, size_t max, std::string& out,
                 std::string* error) {
  const auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) {
    *error = fmt::format("\"{}\" missing or not a string", key);
    return false;
  }
  out = it->get<std::string>();
  if (out.empty() || out.size() > max) {
    *error = fmt::format("\"{}\" must be 1 to {} bytes", key, max);
    return false;
  }
  return true;
}

bool read_window(const Json& windows, std::string_view name, WindowSketch& out,
                 std::string* error) {
  const auto it = windows.find(std::string(name));
  if (it == windows.end() || !it->is_object()) {
    *error = fmt::format("window \"{}\" missing or not an object", name);
    return false;
  }
  const Json& w = *it;
  const auto est = w.find("estimate");
  if (est == w.end() || !est->is_number() || !std::isfinite(est->get<double>()) ||
      est->get<double>() < 0) {
    *error = fmt::format("{}: \"estimate\" missing or not a number >= 0", name);
    return false;
  }
  out.estimate = est->get<double>();
  std::string encoding, data;
  const auto enc = w.find("encoding");
  const auto regs = w.find("registers");
  if (enc == w.end() || !enc->is_string() || regs == w.end() || !regs->is_string()) {
    *error = fmt::format("{}: \"encoding\" and \"registers\" must be strings", name);
    return false;
  }
  std::string why;
  if (!decode_registers(enc->get<std::string>(), regs->get<std::string>(), out.registers, &why)) {
    *error = fmt::format("{}: {}", name, why);
    return false;
  }
  return true;
}

bool read_document(const Json& j, SketchDocument& doc, std::string* error) {
  if (!j.is_object()) {
    *error = "not a JSON object";
    return false;
  }
  const auto format = j.find("format");
  if (format == j.end() || !format->is_string() || format->get<std::string>() != kSketchFormat) {
    *error = fmt::format("not a sketch document (\"format\" is not \"{}\")", kSketchFormat);
    return false;
  }
  const auto version = j.find("version");
  if (version == j.end() || !version->is_number_integer() ||
      version->get<int64_t>() != kSketchFormatVersion) {
    *error = fmt::format("format version {} is not the one this sinkholectl reads ({})",
                         version == j.end() ? "(none)" : version->dump(), kSketchFormatVersion);
    return false;
  }
  const auto precision = j.find("precision");
  if (precision == j.end() || !precision->is_number_integer() ||
      precision->get<int64_t>() != HyperLogLog::kPrecision) {
    *error =
        fmt::format("precision {} is not {} (the only one sketches are kept at)",
                    precision == j.end() ? "(none)" : precision->dump(), HyperLogLog::kPrecision);
    return false;
  }
  doc.precision = HyperLogLog::kPrecision;
  if (!read_string(j, "node", kMaxSketchNameBytes, doc.node, error)) return false;
  if (!read_string(j, "key_fingerprint", 16, doc.key_fingerprint, error)) return false;
  if (!is_fingerprint(doc.key_fingerprint)) {
    *error = "\"key_fingerprint\" must be 16 lower-case hex digits";
    return false;
  }
  std::string source;
  if (!read_string(j, "key_source", 16, source, error)) return false;
  if (source != "file" && source != "random") {
    *error = "\"key_source\" must be \"file\" or \"random\"";
    return false;
  }
  doc.key_from_file = source == "file";
  const auto gen = j.find("generated_unix");
  if (gen == j.end() || !gen->is_number_integer() || gen->get<int64_t>() < 0) {
    *error = "\"generated_unix\" missing or not a non-negative integer";
    return false;
  }
  doc.generated_unix = gen->get<int64_t>();
  const auto cats = j.find("categories");
  if (cats == j.end() || !cats->is_array()) {
    *error = "\"categories\" missing or not an array";
    return false;
  }
  if (cats->size() > kMaxSketchCategories) {
    *error = fmt::format("more than {} categories", kMaxSketchCategories);
    return false;
  }
  std::set<std::string> seen;
  doc.categories.reserve(cats->size());
  for (const Json& c : *cats) {
    if (!c.is_object()) {
      *error = "a category is not an object";
      return false;
    }
    CategorySketch& cs = doc.categories.emplace_back();
    if (!read_string(c, "category", kMaxSketchNameBytes, cs.category, error)) return false;
    if (!seen.insert(cs.category).second) {
      *error = fmt::format("category \"{}\" appears twice", cs.category);
      return false;
    }
    const auto windows = c.find("windows");
    if (windows == c.end() || !windows->is_object()) {
      *error = fmt::format("category \"{}\": \"windows\" missing or not an object", cs.category);
      return false;
    }
    std::string why;
    if (!read_window(*windows, kLastHour, cs.last_hour, &why) ||
        !read_window(*windows, kLastDay, cs.last_day, &why)) {
      *error = fmt::format("category \"{}\": {}", cs.category, why);
      return false;
    }
  }
  return true;
}

}  // namespace

EncodedRegisters encode_registers(const HyperLogLog::Registers& regs) {
  size_t nonzero = 0;
  for (uint8_t r : regs) nonzero += r != 0;
  if (nonzero * kSparseEntry >= kRegisters) {
    return {"dense", util::base64_encode(std::string_view(
                         reinterpret_cast<const char*>(regs.data()), regs.size()))};
  }
  std::string bytes;
  bytes.reserve(nonzero * kSparseEntry);
  for (size_t i = 0; i < kRegisters; ++i) {
    if (regs[i] == 0) continue;
    bytes += static_cast<char>(i >> 8);
    bytes += static_cast<char>(i & 0xff);
    bytes += static_cast<char>(regs[i]);
  }
  return {"sparse", util::base64_encode(bytes)};
}

bool decode_registers(std::string_view encoding, std::string_view data, HyperLogLog::Registers& out,
                      std::string* error) {
  auto fail = [&](std::string why) {
    if (error) *error = std::move(why);
    return false;
  };
  // Dense is the largest valid form; anything longer is not registers.
  if (data.size() > (kRegisters + 2) / 3 * 4) return fail("registers: too long");
  const auto bytes = util::base64_decode(data);
  if (!bytes) return fail("registers: not base64");
  out.fill(0);
  if (encoding == "dense") {
    if (bytes->size() != kRegisters)
      return fail(fmt::format("dense registers: {} bytes, not {}", bytes->size(), kRegisters));
    for (size_t i = 0; i < kRegisters; ++i) {
      const auto v = static_cast<uint8_t>((*bytes)[i]);
      if (v > kMaxRegisterValue)
        return fail(fmt::format("register {} holds {}, above {}", i, v, kMaxRegisterValue));
      out[i] = v;
    }
    return true;
  }
  if (encoding != "sparse")
    return fail(fmt::format("unknown register encoding \"{}\" (dense, sparse)", encoding));
  if (bytes->size() % kSparseEntry != 0)
    return fail("sparse registers: not a whole number of 3-byte entries");
  long previous = -1;
  for (size_t at = 0; at < bytes->size(); at += kSparseEntry) {
    const long index = static_cast<long>(static_cast<uint8_t>((*bytes)[at])) << 8 |
                       static_cast<uint8_t>((*bytes)[at + 1]);
    const auto v = static_cast<uint8_t>((*bytes)[at + 2]);
    if (index >= static_cast<long>(kRegisters) || index <= previous)
      return fail("sparse registers: indexes must ascend strictly below 16384");
    if (v == 0 || v > kMaxRegisterValue)
      return fail(fmt::format("register {} holds {}, not 1..{}", index, v, kMaxRegisterValue));
    out[static_cast<size_t>(index)] = v;
    previous = index;
  }
  return true;
}

std::string to_json_text(const SketchDocument& doc) {
  Json j = Json::object();
  j["format"] = kSketchFormat;
  j["version"] = kSketchFormatVersion;
  j["node"] = doc.node;
  j["key_fingerprint"] = doc.key_fingerprint;
  j["key_source"] = doc.key_from_file ? "file" : "random";
  j["precision"] = doc.precision;
  j["generated_unix"] = doc.generated_unix;
  Json cats = Json::array();
  for (const auto& c : doc.categories) {
    Json windows = Json::object();
    windows[std::string(kLastHour)] = window_json(c.last_hour);
    windows[std::string(kLastDay)] = window_json(c.last_day);
    cats.push_back(Json{{"category", c.category}, {"windows", std::move(windows)}});
  }
  j["categories"] = std::move(cats);
  return j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

ParsedSketch parse_sketch_document(std::string_view text) {
  ParsedSketch out;
  if (text.size() > kMaxSketchDocumentBytes) {
    out.error = fmt::format("larger than {} MiB", kMaxSketchDocumentBytes >> 20);
    return out;
  }
  const Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    out.error = "not JSON";
    return out;
  }
  SketchDocument doc;
  try {
    if (!read_document(j, doc, &out.error)) return out;
  } catch (const nlohmann::json::exception& e) {
    // get<>() of a number out of range, say: a malformed document, not a crash.
    out.error = std::string("malformed: ") + e.what();
    return out;
  }
  out.document = std::move(doc);
  return out;
}

}  // namespace sinkhole::metrics
