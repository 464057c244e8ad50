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
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
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

    /// Calls the error hook, if any. What the hook throws is swallowed: a failing hook must
    /// not take a dispatch down with it.
    void report(const ErrorInfo& info) noexcept {
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
        }
    }

    /// A handler of `core` threw: counts it, applies the policy and reports it. On the
    /// publishing thread, `first_error` keeps the first failure for `rethrow_after`.
    void handler_failed(SubscriptionCore& core, const Failure& failure,
                        std::exception_ptr* first_error) {
        core.errors.fetch_add(1, std::memory_order_relaxed);
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
                         failure.error});
    }

    /// Handler failures so far.
    std::uint64_t errors() const noexcept { return errors_.load(std::memory_order_relaxed); }

private:
    ExceptionPolicy policy_;
    typename Locks<Concurrent>::Mutex mutex_;
    std::shared_ptr<const Hook> hook_;
    std::atomic<std::uint64_t> errors_{0};
};

} // namespace detail
HERALD_NAMESPACE_END
