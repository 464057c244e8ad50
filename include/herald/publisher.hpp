#pragma once
/// \file
/// `herald::Publisher<T>`: a publisher bound to one typed topic, which skips the channel lookup
/// on every publish. Made by `Broker::publisher(topic)`.

#include <herald/detail/broker_impl.hpp>
#include <herald/detail/routes.hpp>
#include <herald/fwd.hpp>
#include <herald/options.hpp>
#include <herald/version.hpp>

#include <cstddef>
#include <memory>
#include <string_view>
#include <type_traits>
#include <utility>

HERALD_NAMESPACE_BEGIN

/// A publisher bound to one typed topic of one broker. Copyable: copies publish to the same
/// channel.
/// **Thread-safety:** `publish` may be called from any thread on a thread_safe broker; one
/// publisher object must not be assigned while another thread uses it.
/// **Lifetime:** may outlive its broker (it keeps the broker's internals, not its
/// subscriptions, alive); publishing then delivers to nobody and returns 0.
template <class T, class Policy>
class Publisher {
public:
    /// A copy publishing to the same channel.
    /// **Thread-safety:** any thread, while other threads publish through `other` (not while
    /// one assigns to it); takes the broker's writer lock briefly.
    /// **Lifetime:** the copy pins the channel on its own.
    Publisher(const Publisher& other) : impl_(other.impl_), channel_(other.channel_) {
        if (impl_) {
            impl_->pin_again(*channel_);
        }
    }
    /// Takes over `other`'s channel; `other` must not publish afterwards (it may be destroyed
    /// or assigned to).
    /// **Thread-safety:** not while another thread uses `other`.
    /// **Lifetime:** the pin moves with the channel; no lock is taken.
    Publisher(Publisher&& other) noexcept
        : impl_(std::move(other.impl_)), channel_(std::exchange(other.channel_, nullptr)) {}
    /// Replaces this publisher's channel with `other`'s (copy-and-swap: a copy pins, the old
    /// channel is let go when `other`'s parameter copy dies).
    /// **Thread-safety:** not while another thread uses this publisher.
    /// **Lifetime:** the previous channel's pin is released before this returns.
    Publisher& operator=(Publisher other) noexcept {
        std::swap(impl_, other.impl_);
        std::swap(channel_, other.channel_);
        return *this;
    }
    /// Lets go of the channel: once no publisher and no subscription holds it, the broker may
    /// reuse or free its routing node.
    /// **Thread-safety:** any thread, not while another thread uses this publisher; takes the
    /// broker's writer lock briefly.
    /// **Lifetime:** may run after the broker was destroyed; the last publisher then frees the
    /// broker's internals.
    ~Publisher() {
        if (impl_ && channel_ != nullptr) {
            impl_->unpin(*channel_);
        }
    }

    /// Publishes `payload` on the publisher's channel without looking it up, running every
    /// matching inline handler on this thread; returns the number of receivers, as Redis
    /// `PUBLISH` does (0 once the broker has shut down).
    /// **Thread-safety:** any thread (a single_threaded broker: its one thread), including from
    /// inside a handler; never while another thread assigns to this publisher.
    /// **Lifetime:** `payload` need only live for the call.
    std::size_t publish(const T& payload) const {
        static_assert(std::is_copy_constructible_v<T>,
                      "herald: this payload type cannot be copied: publish it as an rvalue "
                      "(std::move), which queued subscribers then share");
        return impl_->template publish_pinned<T>(*channel_, payload, nullptr);
    }
    /// Publishes the rvalue `payload` on the publisher's channel: moved (not copied) into a
    /// message node if a queue needs one. Returns the number of receivers.
    /// **Thread-safety:** any thread (a single_threaded broker: its one thread), including from
    /// inside a handler; never while another thread assigns to this publisher.
    /// **Lifetime:** `payload` may be moved from (only if a queued subscription received it).
    std::size_t publish(T&& payload) const {
        return impl_->template publish_pinned<T>(*channel_, payload, &payload);
    }
    /// Publishes `payload` on the publisher's channel and returns the number of receivers, so a
    /// publisher can be passed where a callable is wanted (it calls `publish(payload)`).
    /// **Thread-safety:** any thread (a single_threaded broker: its one thread), including from
    /// inside a handler; never while another thread assigns to this publisher.
    /// **Lifetime:** `payload` need only live for the call.
    std::size_t operator()(const T& payload) const { return publish(payload); }
    /// Publishes the rvalue `payload` on the publisher's channel and returns the number of
    /// receivers (it calls `publish(std::move(payload))`).
    /// **Thread-safety:** any thread (a single_threaded broker: its one thread), including from
    /// inside a handler; never while another thread assigns to this publisher.
    /// **Lifetime:** `payload` may be moved from (only if a queued subscription received it).
    std::size_t operator()(T&& payload) const { return publish(std::move(payload)); }

    /// The channel name; not on a moved-from publisher.
    /// **Thread-safety:** any thread.
    /// **Lifetime:** the view is valid while this publisher lives and is not assigned to.
    std::string_view channel() const noexcept { return channel_->name; }

private:
    template <class, class>
    friend class Broker;
    Publisher(std::shared_ptr<detail::BrokerImpl<Policy>> impl, detail::Channel* channel) noexcept
        : impl_(std::move(impl)), channel_(channel) {}

    std::shared_ptr<detail::BrokerImpl<Policy>> impl_;
    detail::Channel* channel_;
};

HERALD_NAMESPACE_END
