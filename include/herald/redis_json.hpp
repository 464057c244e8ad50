#pragma once
/// \file
/// `herald::redis::JsonCodec<T>`: typed topics across the Redis bridge as JSON, on
/// nlohmann/json, for every `T` with `to_json` / `from_json` (CMake target `herald::redis_json`).

#include <herald/version.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

HERALD_NAMESPACE_BEGIN
namespace redis {

/// Encodes a `T` as compact JSON text and decodes it back; decoding throws nlohmann's
/// exception for text that is not JSON or does not fit `T` (the bridge reports it as a
/// `decode_error`).
/// **Thread-safety:** stateless; any thread. **Lifetime:** a value; the bridge keeps a copy.
template <class T>
struct JsonCodec {
    std::string encode(const T& value) const { return nlohmann::json(value).dump(); }
    T decode(std::string_view bytes) const {
        return nlohmann::json::parse(bytes.begin(), bytes.end()).template get<T>();
    }
};

} // namespace redis
HERALD_NAMESPACE_END
