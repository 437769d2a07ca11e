// SPDX-License-Identifier: MIT
// SketchDocument: one node's protected-user sketches as exported on
// GET /protected-users/sketches (resolver/observe/sketch_export.h) and read back by
// sinkholectl fleet-report (sketch_merge.h). The JSON format is specified in
// docs/FLEET-SKETCHES.md; in short:
//   {"format":"sinkholed-protected-users-sketches","version":1,"node":"edge-1",
//    "key_fingerprint":"<16 hex>","key_source":"file"|"random","precision":14,
//    "generated_unix":1765000000,
//    "categories":[{"category":"gambling","windows":{
//       "last_hour":{"estimate":1234.5,"encoding":"sparse","registers":"<base64>"},
//       "last_day":{...}}}]}
// registers: the window union (register-wise max of the window's ring buckets), either
// "dense" (base64 of the 16384 register bytes) or "sparse" (base64 of 3-byte entries:
// index as 2 bytes big-endian, then the value; indexes strictly ascending, values 1..51),
// whichever is smaller. No hash value, no address: only register maxima.
//
// parse_sketch_document() reads untrusted bytes (a node, or whatever answers at that URL):
// bounded (kMaxDocumentBytes, kMaxCategories), every field checked, no exception escapes.
// Pure; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "resolver/metrics/hyperloglog.h"

namespace sinkhole::metrics {

inline constexpr std::string_view kSketchFormat = "sinkholed-protected-users-sketches";
inline constexpr int kSketchFormatVersion = 1;
// 64 categories × 2 windows of dense registers ≈ 2.8 MB; the rest is small.
inline constexpr size_t kMaxSketchDocumentBytes = size_t{8} << 20;
inline constexpr size_t kMaxSketchCategories = 1024;
inline constexpr size_t kMaxSketchNameBytes = 255;
// The largest register value at precision 14 (64 - 14 + 1, the guard bit).
inline constexpr uint8_t kMaxRegisterValue = 64 - HyperLogLog::kPrecision + 1;

struct WindowSketch {
  double estimate = 0;  // the node's own estimate of these registers
  HyperLogLog::Registers registers{};
};

struct CategorySketch {
  std::string category;
  WindowSketch last_hour;
  WindowSketch last_day;
};

struct SketchDocument {
  std::string node;
  std::string key_fingerprint;  // hash_key.h
  bool key_from_file = false;   // false: a random per-process key (not mergeable)
  int precision = HyperLogLog::kPrecision;
  int64_t generated_unix = 0;
  std::vector<CategorySketch> categories;
};

// The window names as the document spells them.
inline constexpr std::string_view kLastHour = "last_hour";
inline constexpr std::string_view kLastDay = "last_day";

// The JSON text (one line, a final newline).
std::string to_json_text(const SketchDocument& doc);

struct ParsedSketch {
  std::optional<SketchDocument> document;
  std::string error;  // !document: what is wrong, one line
};
ParsedSketch parse_sketch_document(std::string_view text);

// The registers field alone (exposed for tests): encoding and base64 text.
struct EncodedRegisters {
  std::string encoding;  // "dense" or "sparse"
  std::string data;      // base64
};
EncodedRegisters encode_registers(const HyperLogLog::Registers& regs);
// False and *error when the data is not a valid encoding of 16384 registers.
bool decode_registers(std::string_view encoding, std::string_view data, HyperLogLog::Registers& out,
                      std::string* error);

}  // namespace sinkhole::metrics
