#pragma once
// A broker's state, shared by its facade, its publishers and (weakly) its handles: the
// registry (writer side), the dispatcher (read side), the error sink and the worker pool, put
// together. It makes subscriptions of each kind and hands them to the registry, implements
// what handles and queue consumers ask (SubscriptionHost), and shuts the broker down.

#include <herald/detail/dispatcher.hpp>
#include <herald/detail/epoch.hpp>
#include <herald/detail/error_sink.hpp>
#include <herald/detail/gated_subscription.hpp>
#include <herald/detail/handle_access.hpp>
#include <herald/detail/hooks.hpp>
#include <herald/detail/inline_subscription.hpp>
#include <herald/detail/policy.hpp>
#include <herald/detail/queued_core.hpp>
#include <herald/detail/queued_subscription.hpp>
#include <herald/detail/reclamation.hpp>
#include <herald/detail/registry.hpp>
#include <herald/detail/routes.hpp>
#include <herald/detail/subscription_core.hpp>
#include <herald/detail/type_key.hpp>
#include <herald/detail/worker_pool.hpp>
#include <herald/errors.hpp>
#include <herald/mailbox.hpp>
#include <herald/options.hpp>
#include <herald/pattern.hpp>
#include <herald/queue.hpp>
#include <herald/stats.hpp>
#include <herald/subscription.hpp>
#include <herald/version.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

HERALD_NAMESPACE_BEGIN
namespace detail {

template <class Policy>
class BrokerImpl final : public SubscriptionHost,
                         public std::enable_shared_from_this<BrokerImpl<Policy>> {
public:
    static constexpr bool concurrent = is_concurrent<Policy>;

    explicit BrokerImpl(BrokerOptions options)
        : options_(validated(std::move(options))), domain_(EpochDomain::instance()),
          registry_(domain_), sink_(options_.exception_policy),
          dispatcher_(registry_, sink_, options_) {}

    ~BrokerImpl() override {
        shutdown();
        if (link_ != nullptr) {
            link_->release();
        }
    }

    BrokerImpl(const BrokerImpl&) = delete;
    BrokerImpl& operator=(const BrokerImpl&) = delete;

    // ---- subscribe -------------------------------------------------------------------------

    // Each takes the subscription's options (filter, dedup: subscribe_options.hpp) as a tuple
    // of references, empty for a plain subscription.

    template <class T, class H, class... O>
    Subscription subscribe(std::string_view name, H&& handler, std::tuple<O...> options) {
        auto* core = make_subscription<InlineSubscription<T, std::decay_t<H>>, T, concurrent>(
            std::move(options), std::forward<H>(handler));
        return attach_exact(name, type_key<T>, core, nullptr);
    }

    template <class T, class H, class... O>
    Subscription psubscribe(Pattern pattern, H&& handler, std::tuple<O...> options) {
        auto* core = make_subscription<InlineSubscription<T, std::decay_t<H>>, T, concurrent>(
            std::move(options), std::forward<H>(handler));
        core->pattern_subscription = true;
        return attach_pattern(pattern, core, nullptr);
    }

    template <class T, class H, class... O>
    Subscription subscribe_queued(std::string_view name, H&& handler, QueueOptions queue,
                                  std::tuple<O...> options) {
        check_executor(queue);
        auto* core = make_subscription<QueuedSubscription<T, std::decay_t<H>>, T, concurrent>(
            std::move(options), std::forward<H>(handler), std::move(queue), concurrent);
        return attach_exact(name, type_key<T>, core, core);
    }

    template <class T, class H, class... O>
    Subscription psubscribe_queued(Pattern pattern, H&& handler, QueueOptions queue,
                                   std::tuple<O...> options) {
        check_executor(queue);
        auto* core = make_subscription<QueuedSubscription<T, std::decay_t<H>>, T, concurrent>(
            std::move(options), std::forward<H>(handler), std::move(queue), concurrent);
        core->pattern_subscription = true;
        core->pattern_text = pattern.text();
        return attach_pattern(pattern, core, core);
    }

    template <class T, class... O>
    Mailbox<T> mailbox(std::string_view name, QueueOptions queue, std::tuple<O...> options) {
        prepare_mailbox(queue);
        auto* core = make_subscription<MailboxCore<T>, T, concurrent>(std::move(options),
                                                                      std::move(queue), concurrent);
        return HandleAccess::mailbox<T>(attach_exact(name, type_key<T>, core, core), core);
    }

    template <class T, class... O>
    Mailbox<T> pmailbox(Pattern pattern, QueueOptions queue, std::tuple<O...> options) {
        prepare_mailbox(queue);
        auto* core = make_subscription<MailboxCore<T>, T, concurrent>(std::move(options),
                                                                      std::move(queue), concurrent);
        core->pattern_subscription = true;
        core->pattern_text = pattern.text();
        return HandleAccess::mailbox<T>(attach_pattern(pattern, core, core), core);
    }

    // ---- publish ---------------------------------------------------------------------------

    /// Publishes on `name`; `movable`, when not null, is `payload` and may be moved from.
    template <class T>
    std::size_t publish(std::string_view name, const T& payload, T* movable) {
        return dispatcher_.template publish<T>(name, payload, movable);
    }

    /// Publishes on `name`, whose `hash_channel` is `hash` (a topic's).
    template <class T>
    std::size_t publish_hashed(std::string_view name, std::size_t hash, const T& payload,
                               T* movable) {
        return dispatcher_.template publish_hashed<T>(name, hash, payload, movable);
    }

    /// Publishes to the local subscribers only, skipping the extension hooks (what an
    /// extension uses for the messages it brings in).
    template <class T>
    std::size_t publish_local(std::string_view name, const T& payload, T* movable,
                              LocalTarget target = LocalTarget::all,
                              const Pattern* pattern = nullptr) {
        if (target == LocalTarget::all) {
            return dispatcher_.template publish<T, Dispatcher<concurrent>::Hooks::skip>(
                name, payload, movable);
        }
        return dispatcher_.template publish_to<T>(name, payload, movable, target, pattern);
    }

    /// Reports `info` to the error hook: for extensions, failures they detect off the data
    /// path (a message from outside that does not decode).
    void report_error(const ErrorInfo& info) noexcept { sink_.report(info); }

    template <class T>
    std::size_t publish_pinned(Channel& channel, const T& payload, T* movable) {
        return dispatcher_.template publish_pinned<T>(channel, payload, movable);
    }

    Channel* pin(std::string_view name, const TypeKey& type) { return registry_.pin(name, type); }
    void pin_again(Channel& channel) { registry_.pin_again(channel); }
    void unpin(Channel& channel) noexcept { registry_.unpin(channel); }

    // ---- introspection -------------------------------------------------------------------

    std::vector<std::string> channels(const std::string_view* glob) const {
        return registry_.channels(glob);
    }
    std::size_t numsub(std::string_view name) const { return registry_.numsub(name); }
    std::size_t numpat() const { return registry_.numpat(); }
    std::vector<Pattern> patterns() const { return registry_.patterns(); }
    std::uint64_t pattern_evaluations() const { return registry_.pattern_evaluations(); }

    BrokerStats stats() const {
        BrokerStats s = registry_.stats();
        s.errors = sink_.errors();
        s.depth_exceeded = dispatcher_.depth_exceeded();
        s.type_mismatches = dispatcher_.type_mismatches();
        return s;
    }

    const BrokerOptions& options() const noexcept { return options_; }

    // ---- errors and extensions -------------------------------------------------------------

    void on_error(std::function<void(const ErrorInfo&)> hook) { sink_.on_error(std::move(hook)); }

    /// See Registry::install_hooks.
    void install_hooks(BrokerHooks& hooks) { registry_.install_hooks(hooks); }

    /// Removes the installed hooks and returns once no publish still runs them.
    void remove_hooks() noexcept {
        registry_.remove_hooks();
        if constexpr (concurrent) {
            wait_for_grace_period(domain_);
        }
    }

    // ---- SubscriptionHost ------------------------------------------------------------------

    void unsubscribe(SubscriptionCore& core) override {
        if (!registry_.detach(core, SubscriptionState::cancelled)) {
            return;
        }
        if constexpr (concurrent) {
            // Outside the lock: handlers running elsewhere may themselves subscribe.
            wait_for_invocations(domain_, &core);
        }
        if (QueuedCore* q = queued_part(core)) {
            q->end(true); // pending messages: discarded and counted
            registry_.fold_drops(*q);
        }
        registry_.reclaimer().collect();
    }

    SubscriptionStats stats(const SubscriptionCore& core) const override {
        return registry_.subscription_stats(core);
    }

    void queued_handler_failed(SubscriptionCore& core, const Failure& failure) override {
        dispatcher_.queued_failed(core, failure);
    }

    void discarded_after_end(SubscriptionCore& core) override {
        registry_.discarded_after_end(static_cast<QueuedCore&>(core)); // only queues call it
    }

    void enter_handler() noexcept override {
        if constexpr (!concurrent) {
            registry_.reclaimer().enter();
        }
    }
    void leave_handler() noexcept override {
        if constexpr (!concurrent) {
            registry_.reclaimer().leave();
        }
    }

    // ---- shutdown --------------------------------------------------------------------------

    /// Ends every subscription and refuses further publishes. Idempotent.
    void shutdown(ShutdownMode mode = ShutdownMode::drain) noexcept {
        if (!registry_.close()) {
            return;
        }
        if constexpr (concurrent) {
            wait_for_grace_period(domain_);
        }
        std::vector<QueuedCore*> queues = settle_queues(mode);
        // No dispatch can run any more: gather everything, then destroy it outside the lock
        // (handlers' destructors may call back into this broker).
        std::vector<RetireList::Entry> garbage = registry_.orphan_all();
        for (QueuedCore* q : queues) {
            // Parked receivers (coroutines) are claimed here, outside the writer lock: their
            // retry may run inline on an executor and call back into this broker.
            q->wake_waiters();
            q->release();
        }
        {
            std::lock_guard lock(setup_mutex_);
            if (pool_) {
                pool_->stop(); // every turn is settled: the workers only have stale tasks left
            }
        }
        RetireList::destroy_all(std::move(garbage));
        registry_.reclaimer().collect(); // what the destructors above retired in turn
    }

    bool closed() const noexcept { return registry_.closed(); }

private:
    static BrokerOptions validated(BrokerOptions options) {
        if (options.max_depth == 0 || options.max_depth > max_dispatch_depth) {
            throw std::invalid_argument("herald: BrokerOptions::max_depth must be between 1 and " +
                                        std::to_string(max_dispatch_depth));
        }
        if (options.workers == 0) {
            throw std::invalid_argument("herald: BrokerOptions::workers must be at least 1");
        }
        return options;
    }

    void check_executor(const QueueOptions& options) const {
        if (options.executor.is_workers() && !concurrent) {
            throw queue_options_error(
                "herald: a single_threaded broker has no worker threads; give the queued "
                "subscription Executor::polled() or an executor that runs tasks on the broker's "
                "thread");
        }
    }

    static void prepare_mailbox(QueueOptions& options) {
        if (options.executor.is_user()) {
            throw queue_options_error("herald: a mailbox is consumed by receive calls; it takes "
                                      "no executor");
        }
        options.executor = Executor::polled();
    }

    Subscription attach_exact(std::string_view name, const TypeKey& type, SubscriptionCore* core,
                              QueuedCore* queued_core) {
        // The handle owns the core from here on. While its host is unset (before, or after a
        // failure below), destroying it only frees the core: there is nothing to unsubscribe.
        Subscription handle = HandleAccess::subscription(core);
        core->id = next_subscription_id();
        HostLink* link = prepare(queued_core);
        registry_.attach_exact(name, type, *core, link);
        registry_.reclaimer().collect();
        return handle;
    }

    Subscription attach_pattern(const Pattern& pattern, SubscriptionCore* core,
                                QueuedCore* queued_core) {
        Subscription handle = HandleAccess::subscription(core); // see attach_exact
        core->id = next_subscription_id();
        HostLink* link = prepare(queued_core);
        registry_.attach_pattern(pattern, *core, link);
        registry_.reclaimer().collect();
        return handle;
    }

    /// What a subscription needs before it becomes visible: the link every subscription of
    /// this broker shares (made on first need: the broker is owned by a shared_ptr only after
    /// its constructor), and for a queued one on the default executor, the worker pool.
    HostLink* prepare(QueuedCore* queued_core) {
        std::lock_guard lock(setup_mutex_);
        if (registry_.closed()) {
            throw broker_closed_error("herald: subscribe on a broker that has shut down");
        }
        if (link_ == nullptr) {
            link_ = new HostLink(this->weak_from_this());
        }
        if (queued_core != nullptr && queued_core->options.executor.is_workers()) {
            if (!pool_) {
                pool_ = std::make_unique<WorkerPool>(options_.workers);
            }
            queued_core->pool = pool_.get();
        }
        return link_;
    }

    /// Shutdown, queued part: no publish can enqueue any more; take every queue's consumer
    /// turn for good and deliver (drain) or drop (discard) what is left. Mailboxes keep
    /// their messages under `drain` for their receivers.
    /// Returns the queues, each with a reference the caller releases.
    std::vector<QueuedCore*> settle_queues(ShutdownMode mode) noexcept {
        std::vector<QueuedCore*> queues = registry_.queued_subscriptions();
        for (QueuedCore* q : queues) {
            if (consuming_now() != q) { // not from inside its own handler
                q->seize_turn();
                if (mode == ShutdownMode::discard) {
                    q->discard_all();
                } else if (q->ops->invoke != nullptr) {
                    q->consume(static_cast<std::size_t>(-1));
                }
            }
        }
        return queues;
    }

    BrokerOptions options_;
    EpochDomain& domain_;
    Registry<concurrent> registry_;
    ErrorSink<concurrent> sink_;
    Dispatcher<concurrent> dispatcher_;
    typename Locks<concurrent>::Mutex setup_mutex_; // link_ and pool_
    HostLink* link_ = nullptr;
    std::unique_ptr<WorkerPool> pool_;
};

} // namespace detail
HERALD_NAMESPACE_END
