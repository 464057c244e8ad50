#pragma once
// The Redis bridge's codecs: the concept a codec meets, the identity codec for byte strings and
// the type-erased table the bridge keeps, one entry per payload type that crosses the server.

#include <herald/broker.hpp>
#include <herald/detail/type_key.hpp>
#include <herald/errors.hpp>
#include <herald/version.hpp>

#include <concepts>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

HERALD_NAMESPACE_BEGIN
namespace redis {

/// What turns a `T` into the bytes of a Redis message and back. `encode` may throw (the
/// publish then throws); `decode` throws for bytes that are not a valid `T` (the bridge
/// counts and reports that, see `Bridge`).
template <class C, class T>
concept Codec = std::copy_constructible<C> &&
    requires(const C& c, const T& value, std::string_view bytes) {
    { c.encode(value) } -> std::convertible_to<std::string>;
    { c.decode(bytes) } -> std::convertible_to<T>;
};

/// The identity codec for `std::string` payloads: the payload's bytes are the message, exactly.
/// **Thread-safety:** stateless; any thread. **Lifetime:** a value; the bridge keeps a copy.
struct IdentityCodec {
    std::string encode(const std::string& value) const { return value; }
    std::string decode(std::string_view bytes) const { return std::string(bytes); }
};

/// The identity codec for a container of single bytes (e.g. `std::vector<std::byte>` or
/// `std::vector<unsigned char>`).
/// **Thread-safety:** stateless; any thread. **Lifetime:** a value; the bridge keeps a copy.
template <class Bytes>
requires(sizeof(typename Bytes::value_type) == 1 &&
         std::is_trivially_copyable_v<typename Bytes::value_type>) struct BytesCodec {
    std::string encode(const Bytes& value) const {
        return std::string(reinterpret_cast<const char*>(value.data()), value.size());
    }
    Bytes decode(std::string_view bytes) const {
        using V = typename Bytes::value_type;
        const auto* first = reinterpret_cast<const V*>(bytes.data());
        return Bytes(first, first + bytes.size());
    }
};

/// The codec used when none is given: the identity codec for `std::string`, and none for other
/// types (a typed topic then needs one, e.g. `herald::redis::JsonCodec<T>`).
template <class T>
struct DefaultCodec {};
template <>
struct DefaultCodec<std::string> {
    using type = IdentityCodec;
};

/// A message from the server could not be decoded into the payload type of its channel.
/// Passed to the broker's error hook (`ErrorKind::decode_failure`) and in the dead letter.
class decode_error : public error {
public:
    decode_error(std::string_view channel, std::string_view type, std::string_view reason)
        : error("herald::redis: a message on '" + std::string(channel) +
                "' could not be decoded as '" + std::string(type) + "': " + std::string(reason)) {}
};

/// A publish on a distributed channel whose payload type has no codec in the bridge's
/// `Distribution`.
class codec_error : public error {
public:
    codec_error(std::string_view channel, std::string_view type)
        : error("herald::redis: channel '" + std::string(channel) +
                "' is distributed but payload type '" + std::string(type) +
                "' has no codec; give one with Distribution::codec<T>(...)") {}
};

} // namespace redis

namespace detail::redis {

using LocalBroker = BrokerImpl<thread_safe>;

/// One payload type's codec, type-erased: encode from the payload a publish carries, decode
/// once and hand the value to the local subscribers of a channel or a pattern.
struct CodecEntry {
    const TypeKey* type = nullptr;
    /// The identity codec on std::string: the payload's bytes go out without an encode copy.
    bool identity = false;
    std::function<std::string(const void* payload)> encode;
    /// Decodes `bytes` (throws what the codec throws) and delivers it with `publish_local`.
    std::function<std::size_t(LocalBroker& broker, std::string_view channel, const Pattern* pattern,
                              std::string_view bytes)>
        decode_deliver;
    /// Delivers a payload of this type published here to local subscribers (tagged format).
    std::function<std::size_t(LocalBroker& broker, std::string_view channel, const void* payload)>
        deliver_local;
};

/// One decode; what the codec throws becomes a `decode_error` naming channel and type.
template <class T, class C>
T decode_as(const C& codec, std::string_view channel, std::string_view bytes) {
    try {
        return T(codec.decode(bytes));
    } catch (const std::exception& e) {
        throw herald::redis::decode_error(channel, type_key<T>.name, e.what());
    } catch (...) {
        throw herald::redis::decode_error(channel, type_key<T>.name, "unknown exception");
    }
}

template <class T, class C>
CodecEntry make_codec_entry(C codec) {
    CodecEntry entry;
    entry.type = &type_key<T>;
    entry.identity =
        std::is_same_v<C, herald::redis::IdentityCodec> && std::is_same_v<T, std::string>;
    entry.encode = [codec](const void* payload) {
        return std::string(codec.encode(*static_cast<const T*>(payload)));
    };
    entry.deliver_local = [](LocalBroker& broker, std::string_view channel, const void* payload) {
        return broker.template publish_local<T>(channel, *static_cast<const T*>(payload), nullptr);
    };
    entry.decode_deliver = [codec](LocalBroker& broker, std::string_view channel,
                                   const Pattern* pattern, std::string_view bytes) {
        T value = decode_as<T>(codec, channel, bytes);
        return broker.template publish_local<T>(
            channel, value, &value, pattern != nullptr ? LocalTarget::pattern : LocalTarget::exact,
            pattern);
    };
    return entry;
}

/// The codecs of one bridge; fixed once the bridge runs, so lookups take no lock.
class CodecTable {
public:
    /// Adds (or replaces) the codec of `T`.
    template <class T, class C>
    const CodecEntry* add(C codec) {
        auto entry = std::make_shared<const CodecEntry>(make_codec_entry<T>(std::move(codec)));
        for (auto& e : entries_) {
            if (*e->type == type_key<T>) {
                e = entry;
                return e.get();
            }
        }
        entries_.push_back(entry);
        return entries_.back().get();
    }

    const CodecEntry* find(const TypeKey& type) const noexcept {
        for (const auto& e : entries_) {
            if (*e->type == type) {
                return e.get();
            }
        }
        return nullptr;
    }

private:
    std::vector<std::shared_ptr<const CodecEntry>> entries_;
};

} // namespace detail::redis
HERALD_NAMESPACE_END
