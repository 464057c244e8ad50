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
/// **Lifetime:** may outlive its broker; publishing then delivers to nobody and returns 0.
template <class T, class Policy>
class Publisher {
public:
    /// A copy publishing to the same channel.
    /// **Thread-safety:** any thread.
    Publisher(const Publisher& other) : impl_(other.impl_), channel_(other.channel_) {
        if (impl_) {
            impl_->pin_again(*channel_);
        }
    }
    /// Takes over `other`'s channel; `other` must not publish afterwards.
    Publisher(Publisher&& other) noexcept
        : impl_(std::move(other.impl_)), channel_(std::exchange(other.channel_, nullptr)) {}
    /// Replaces this publisher's channel with `other`'s.
    Publisher& operator=(Publisher other) noexcept {
        std::swap(impl_, other.impl_);
        std::swap(channel_, other.channel_);
        return *this;
    }
    /// Lets go of the channel.
    ~Publisher() {
        if (impl_ && channel_ != nullptr) {
            impl_->unpin(*channel_);
        }
    }

    /// Publishes `payload`; returns the number of receivers (as `Broker::publish`).
    /// **Thread-safety:** any thread, including from inside a handler.
    /// **Lifetime:** `payload` need only live for the call.
    std::size_t publish(const T& payload) const {
        static_assert(std::is_copy_constructible_v<T>,
                      "herald: this payload type cannot be copied: publish it as an rvalue "
                      "(std::move), which queued subscribers then share");
        return impl_->template publish_pinned<T>(*channel_, payload, nullptr);
    }
    /// Publishes an rvalue: moved (not copied) into a message node if a queue needs one.
    /// **Thread-safety:** any thread, including from inside a handler.
    std::size_t publish(T&& payload) const {
        return impl_->template publish_pinned<T>(*channel_, payload, &payload);
    }
    /// Publishes `payload` (the same as `publish`).
    /// **Thread-safety:** any thread.
    std::size_t operator()(const T& payload) const { return publish(payload); }
    /// Publishes an rvalue (the same as `publish`).
    /// **Thread-safety:** any thread.
    std::size_t operator()(T&& payload) const { return publish(std::move(payload)); }

    /// The channel name.
    /// **Lifetime:** the view is valid while this publisher lives.
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
