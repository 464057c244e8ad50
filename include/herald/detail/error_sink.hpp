#pragma once
// Where a broker's failures go: a handler that threw (counted on its subscription and the
// broker, the exception policy applied) and a queue disconnect, both reported to the one error
// hook. The dead letter of a failure is the dispatcher's to publish (dispatcher.hpp).

#include <herald/detail/policy.hpp>
#include <herald/detail/publication.hpp>
#include <herald/detail/subscription_core.hpp>
#include <herald/errors.hpp>
#include <herald/version.hpp>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

HERALD_NAMESPACE_BEGIN
namespace detail {

template <bool Concurrent>
class ErrorSink {
public:
    using Hook = std::function<void(const ErrorInfo&)>;

    explicit ErrorSink(ExceptionPolicy policy) noexcept : policy_(policy) {}

    /// Replaces the error hook; an empty function removes it.
    void on_error(Hook hook) {
        auto shared = hook ? std::make_shared<const Hook>(std::move(hook)) : nullptr;
        std::lock_guard lock(mutex_);
        hook_ = std::move(shared);
    }

    /// Calls the error hook. What the hook throws is swallowed: a failing hook must not take a
    /// dispatch down with it. Without a hook, the first failure of each subscription (`first`)
    /// is written to stderr as one line, so that no exception vanishes unseen; later ones are
    /// only counted.
    void report(const ErrorInfo& info, bool first = true) noexcept {
        std::shared_ptr<const Hook> hook;
        {
            std::lock_guard lock(mutex_);
            hook = hook_;
        }
        if (hook) {
            try {
                (*hook)(info);
            } catch (...) {
                // Swallowed on purpose (see above).
            }
        } else if (first) {
            write_default(info);
        }
    }

    /// A handler of `core` threw: counts it, applies the policy and reports it. On the
    /// publishing thread, `first_error` keeps the first failure for `rethrow_after`.
    void handler_failed(SubscriptionCore& core, const Failure& failure,
                        std::exception_ptr* first_error) {
        const bool first = core.errors.fetch_add(1, std::memory_order_relaxed) == 0;
        errors_.fetch_add(1, std::memory_order_relaxed);
        if (policy_ == ExceptionPolicy::terminate) {
            try {
                std::rethrow_exception(failure.error);
            } catch (...) {
                std::terminate(); // with the exception active, so the handler can name it
            }
        }
        if (policy_ == ExceptionPolicy::rethrow_after && first_error != nullptr && !*first_error) {
            *first_error = failure.error;
        }
        report(ErrorInfo{ErrorKind::handler_exception, failure.channel, failure.pattern, core.id,
                         failure.error},
               first);
    }

    /// Handler failures so far.
    std::uint64_t errors() const noexcept { return errors_.load(std::memory_order_relaxed); }

private:
    /// The default report: one line on stderr (binary channel names escaped).
    static void write_default(const ErrorInfo& info) noexcept {
        try {
            std::string line = "herald: ";
            if (info.kind == ErrorKind::handler_exception) {
                line += "a handler of subscription " + std::to_string(info.subscription_id) +
                        " threw on channel \"" + escaped(info.channel) + "\"";
                if (!info.pattern.empty()) {
                    line += " (pattern \"" + escaped(info.pattern) + "\")";
                }
                line += ": " + describe(info.exception) +
                        "; its later exceptions are only counted (Broker::on_error sets a hook)\n";
            } else if (info.kind == ErrorKind::queue_disconnect) {
                line += "subscription " + std::to_string(info.subscription_id) +
                        " was disconnected: its queue overflowed on channel \"" +
                        escaped(info.channel) + "\" (Overflow::disconnect)\n";
            } else {
                line += "a message received on channel \"" + escaped(info.channel) +
                        "\" could not be decoded: " + describe(info.exception) + "\n";
            }
            std::fputs(line.c_str(), stderr);
        } catch (...) {
            // Out of memory while reporting: nothing better to do.
        }
    }

    static std::string describe(const std::exception_ptr& error) {
        try {
            if (error) {
                std::rethrow_exception(error);
            }
        } catch (const std::exception& e) {
            return e.what();
        } catch (...) {
            return "an exception not derived from std::exception";
        }
        return "no exception";
    }

    static std::string escaped(std::string_view text) {
        std::string out;
        for (const char c : text) {
            const auto byte = static_cast<unsigned char>(c);
            if (byte < 0x20 || byte >= 0x7f || c == '"' || c == '\\') {
                static constexpr char digits[] = "0123456789abcdef";
                out += "\\x";
                out += digits[byte >> 4];
                out += digits[byte & 0xf];
            } else {
                out += c;
            }
        }
        return out;
    }

    ExceptionPolicy policy_;
    typename Locks<Concurrent>::Mutex mutex_;
    std::shared_ptr<const Hook> hook_;
    std::atomic<std::uint64_t> errors_{0};
};

} // namespace detail
HERALD_NAMESPACE_END
