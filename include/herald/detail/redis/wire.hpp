#pragma once
// The bridge's opt-in tagged wire format (Options::wire_format = WireFormat::tagged): a 20-byte
// header before the payload's bytes, so that a process recognises its own messages when the
// server sends them back (and drops them: its local subscribers were served at publish time)
// and counts the messages it missed from each other process and channel.
//
//   bytes 0-3    "\0HR1" (a NUL first: no text payload starts like this by accident)
//   bytes 4-11   origin: the publishing bridge's random 64-bit id, big-endian
//   bytes 12-19  sequence: per origin and channel, from 1, big-endian
//   bytes 20-    the codec's bytes
// A message without the header (any other client's PUBLISH) is delivered as it is.

#include <herald/version.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

HERALD_NAMESPACE_BEGIN
namespace detail::redis {

inline constexpr std::string_view tag_magic{"\0HR1", 4};
inline constexpr std::size_t tag_size = 20;

inline void put_u64(std::string& out, std::uint64_t v) {
    for (int shift = 56; shift >= 0; shift -= 8) {
        out += static_cast<char>(static_cast<unsigned char>((v >> shift) & 0xff));
    }
}

inline std::uint64_t get_u64(std::string_view in) noexcept {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 8; ++i) {
        v = (v << 8) | static_cast<unsigned char>(in[i]);
    }
    return v;
}

/// The header of a tagged message.
inline std::string tag_header(std::uint64_t origin, std::uint64_t sequence) {
    std::string out(tag_magic);
    out.reserve(tag_size);
    put_u64(out, origin);
    put_u64(out, sequence);
    return out;
}

struct Tag {
    std::uint64_t origin;
    std::uint64_t sequence;
    std::string_view payload; // the codec's bytes after the header
};

/// The header of `bytes`, if it has one.
inline std::optional<Tag> parse_tag(std::string_view bytes) noexcept {
    if (bytes.size() < tag_size || bytes.substr(0, 4) != tag_magic) {
        return std::nullopt;
    }
    return Tag{get_u64(bytes.substr(4)), get_u64(bytes.substr(12)), bytes.substr(tag_size)};
}

} // namespace detail::redis
HERALD_NAMESPACE_END
