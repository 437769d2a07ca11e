// SPDX-License-Identifier: MIT
#include "resolver/dns/name.h"

#include <algorithm>
#include <cstring>

#include "util/log_escape.h"

namespace sinkhole::dns {

const char* to_string(NameError e) {
  switch (e) {
    case NameError::kNone:
      return "ok";
    case NameError::kPastEnd:
      return "name past end";
    case NameError::kBadLabelType:
      return "bad label type";
    case NameError::kPointerLoop:
      return "compression pointer loop";
    case NameError::kForwardPointer:
      return "forward compression pointer";
    case NameError::kPointerPastEnd:
      return "compression pointer past end";
    case NameError::kTooLong:
      return "name over 255 octets";
    case NameError::kTooManyPointers:
      return "too many compression pointers";
  }
  return "?";
}

NameWalk walk_name(const uint8_t* msg, size_t len, size_t off, bool allow_pointers, uint8_t* out,
                   bool lower, unsigned max_hops) noexcept {
  NameWalk w;
  size_t pos = off;
  // Every followed pointer must point strictly before the previous one, so the walk ends;
  // a pointer that does not is reported as a loop when it targets a pointer already
  // followed, and as a forward pointer otherwise.
  size_t lowest_pointer = off;
  size_t visited[8];
  size_t n_visited = 0;
  unsigned hops = 0;
  for (;;) {
    if (pos >= len) return w.error = NameError::kPastEnd, w;
    const uint8_t b = msg[pos];
    const uint8_t type = b & 0xC0;
    if (type == 0xC0) {
      if (!allow_pointers) return w.error = NameError::kForwardPointer, w;
      if (++hops > max_hops) return w.error = NameError::kTooManyPointers, w;
      if (pos + 1 >= len) return w.error = NameError::kPastEnd, w;
      const size_t target = (size_t{b & 0x3Fu} << 8) | msg[pos + 1];
      if (!w.compressed) w.end = pos + 2;
      w.compressed = true;
      for (size_t i = 0; i < n_visited; ++i)
        if (visited[i] == target) return w.error = NameError::kPointerLoop, w;
      if (target >= len) return w.error = NameError::kPointerPastEnd, w;
      if (target >= lowest_pointer && target <= pos) return w.error = NameError::kPointerLoop, w;
      if (target > pos || target < kHeaderSize) return w.error = NameError::kForwardPointer, w;
      if (n_visited < std::size(visited)) visited[n_visited++] = pos;
      lowest_pointer = target;
      pos = target;
      continue;
    }
    if (type != 0) return w.error = NameError::kBadLabelType, w;
    const size_t label = b;
    if (pos + 1 + label > len) return w.error = NameError::kPastEnd, w;
    if (w.wire_len + 1 + label > kMaxNameWire) return w.error = NameError::kTooLong, w;
    if (out) {
      out[w.wire_len] = b;
      for (size_t i = 0; i < label; ++i) {
        const uint8_t c = msg[pos + 1 + i];
        out[w.wire_len + 1 + i] = lower ? ascii_lower(c) : c;
      }
    }
    w.wire_len += 1 + label;
    pos += 1 + label;
    if (label == 0) break;
  }
  if (!w.compressed) w.end = pos;
  return w;
}

bool wire_names_equal_ci(const uint8_t* a, const uint8_t* b, size_t len) noexcept {
  for (size_t i = 0; i < len; ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

std::string wire_to_text(const uint8_t* wire, size_t len) {
  if (len == 0 || wire[0] == 0) return std::string(1, '.');
  std::string s;
  size_t pos = 0;
  while (pos < len && wire[pos] != 0) {
    const size_t label = wire[pos];
    for (size_t i = 1; i <= label && pos + i < len; ++i) {
      const char c = static_cast<char>(wire[pos + i]);
      if (c == '.' || c == '\\') s.push_back('\\');
      s.push_back(c);
    }
    s.push_back('.');
    pos += 1 + label;
  }
  return s;
}

std::string wire_to_log_text(const uint8_t* wire, size_t len) {
  std::string s;
  s.reserve(len + 8);
  append_wire_log_text(s, wire, len);
  return s;
}

void append_wire_log_text(std::string& s, const uint8_t* wire, size_t len) {
  if (len == 0 || wire[0] == 0) {
    s.push_back('.');
    return;
  }
  size_t pos = 0;
  while (pos < len && wire[pos] != 0) {
    const size_t label = std::min<size_t>(wire[pos], len - pos - 1);
    const std::string_view text(reinterpret_cast<const char*>(wire + pos + 1), label);
    // Runs between the dots of a label go through the shared escaper; the dots are ours.
    size_t start = 0;
    for (;;) {
      const size_t dot = text.find('.', start);
      util::append_escaped_for_log(s, text.substr(start, dot - start));
      if (dot == std::string_view::npos) break;
      s += "\\.";
      start = dot + 1;
    }
    s.push_back('.');
    pos += 1 + wire[pos];
  }
}

size_t text_to_wire(std::string_view text, uint8_t* out) {
  if (text == ".") {
    out[0] = 0;
    return 1;
  }
  size_t n = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t dot = text.find('.', start);
    if (dot == std::string_view::npos) dot = text.size();
    const size_t label = dot - start;
    if (label == 0 || label > kMaxLabel || n + 1 + label + 1 > kMaxNameWire) return 0;
    out[n++] = static_cast<uint8_t>(label);
    std::memcpy(out + n, text.data() + start, label);
    n += label;
    start = dot + 1;
  }
  out[n++] = 0;
  return n;
}

}  // namespace sinkhole::dns
