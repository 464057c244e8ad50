#pragma once
/// \file
/// The asio adapter (standalone asio, 1.18 or newer; the CMake target `herald::asio`): asio
/// executors as herald executors (`herald::asio_executor`), and asynchronous receives from a
/// mailbox with any completion token (`co_await herald::async_receive(mailbox,
/// asio::use_awaitable)` inside `asio::co_spawn`, a callback, `asio::use_future`...).
///
/// Where completions run: on the completion handler's associated executor (for
/// `use_awaitable`, the coroutine's), never on the publishing thread, and never inside the
/// initiating call (asio's rule): a message already queued completes through `asio::post`.
/// A pending receive counts as work on that executor, so `io_context::run()` does not return
/// while one waits.

#ifndef ASIO_STANDALONE
#define ASIO_STANDALONE
#endif
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/execution.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/prefer.hpp>
#include <asio/system_executor.hpp>

#include <herald/coroutine.hpp>
#include <herald/detail/handle_access.hpp>
#include <herald/detail/queue_wait.hpp>
#include <herald/executor.hpp>
#include <herald/mailbox.hpp>
#include <herald/version.hpp>

#include <chrono>
#include <optional>
#include <type_traits>
#include <utility>

HERALD_NAMESPACE_BEGIN

/// An asio executor (an `io_context`'s, a strand, `any_io_executor`) as a herald executor:
/// each task is `asio::post`ed to it. Use it as `QueueOptions::executor` (queued handlers run
/// there, a strand keeping them apart from the rest of its work) or to resume coroutines
/// (`herald::next(mailbox, on)`).
/// **Thread-safety:** the returned value may be used from any thread, as asio executors are.
/// **Lifetime:** keeps a copy of `executor`; its execution context (the `io_context`) must
/// outlive every subscription and wait given the returned value, and must run the tasks
/// (a task not run leaks its queue's reference).
template <class AsioExecutor>
requires(!std::is_same_v<std::remove_cvref_t<AsioExecutor>, asio::io_context>) Executor
    asio_executor(AsioExecutor executor) {
    return Executor([executor = std::move(executor)](Executor::Task task) {
        asio::post(executor, std::move(task));
    });
}

/// `asio_executor(context.get_executor())`: tasks run where `context.run()` runs.
/// **Thread-safety:** as the other overload.
/// **Lifetime:** `context` must outlive every subscription and wait given the returned value.
inline Executor asio_executor(asio::io_context& context) {
    return asio_executor(context.get_executor());
}

namespace detail {

/// One asynchronous receive: the parked wait, the handler, and work on its executor. Freed
/// before the handler is invoked.
template <class T, class Handler, class IoExecutor>
class AsioReceive final : public QueueWait {
public:
    using Result = std::optional<Envelope<T>>;
    using HandlerExecutor = asio::associated_executor_t<Handler, IoExecutor>;
    using WorkExecutor = std::decay_t<decltype(asio::prefer(
        std::declval<HandlerExecutor>(), asio::execution::outstanding_work.tracked))>;

    AsioReceive(Mailbox<T>& mailbox, Clock::time_point deadline, Handler handler,
                const IoExecutor& io)
        : QueueWait(HandleAccess::queue(mailbox), deadline), mailbox_(&mailbox),
          handler_(std::move(handler)),
          work_(asio::prefer(asio::get_associated_executor(handler_, io),
                             asio::execution::outstanding_work.tracked)) {}

    /// Receives now or parks; never invokes the handler from here.
    static void launch(Mailbox<T>& mailbox, Clock::time_point deadline, Handler handler,
                       const IoExecutor& io) {
        auto* op = new AsioReceive(mailbox, deadline, std::move(handler), io);
        QueuedCore* q = HandleAccess::queue(mailbox);
        if (q == nullptr || op->take() || !q->is_active()) {
            if (q != nullptr && !op->result_) {
                op->take(); // what arrived before the end
            }
            op->schedule_completion();
            return;
        }
        if (!op->start()) {
            op->schedule_completion();
        }
    }

private:
    bool take() override {
        if (auto m = mailbox_->try_receive()) {
            result_.emplace(std::move(*m));
            return true;
        }
        return false;
    }

    void schedule() noexcept override {
        asio::post(work_, [this] { attempt(); });
    }

    // GCC 12 at -O3 reports the moved optional's envelope as maybe uninitialized when it is
    // passed on (a false positive: it is read only when engaged). Silenced here, in the header,
    // so that users' -O3 -Werror builds do not break on it either.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
    /// Runs on the handler's executor (attempt() was posted there).
    void complete() noexcept override {
        Handler handler(std::move(handler_));
        Result result(std::move(result_));
        delete this; // asio's rule: the operation's memory goes before the upcall
        std::move(handler)(std::move(result));
    }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

    void schedule_completion() {
        asio::post(work_, [this] { complete(); });
    }

    Mailbox<T>* mailbox_;
    Handler handler_;
    WorkExecutor work_;
    Result result_;
};

template <class T, class IoExecutor>
struct InitiateReceive {
    Mailbox<T>* mailbox;
    QueueWait::Clock::time_point deadline;
    IoExecutor io;

    template <class Handler>
    void operator()(Handler&& handler) const {
        AsioReceive<T, std::decay_t<Handler>, IoExecutor>::launch(
            *mailbox, deadline, std::forward<Handler>(handler), io);
    }
};

} // namespace detail

/// Receives the next message of `mailbox` asynchronously; completes with
/// `std::optional<Envelope<T>>`, empty once the subscription has ended (unsubscribe,
/// disconnect, broker shutdown) and nothing is left. The completion runs on the handler's
/// associated executor, or on `executor` for a handler without one.
/// **Thread-safety:** any thread, concurrently with other receivers on the mailbox.
/// **Lifetime:** `mailbox` must outlive the operation; `executor`'s context must run until it
/// completes (it is work on it).
template <class T, class IoExecutor, class Token>
requires asio::execution::is_executor<IoExecutor>::value auto
async_receive(Mailbox<T>& mailbox, const IoExecutor& executor, Token&& token) {
    return asio::async_initiate<Token, void(std::optional<Envelope<T>>)>(
        detail::InitiateReceive<T, IoExecutor>{
            &mailbox, detail::QueueWait::Clock::time_point::max(), executor},
        token);
}

/// `async_receive(mailbox, executor, token)` for tokens that bring their executor
/// (`asio::use_awaitable`, a handler bound with `asio::bind_executor`); other handlers
/// complete on `asio::system_executor`.
/// **Thread-safety:** any thread, concurrently with other receivers on the mailbox.
/// **Lifetime:** `mailbox` must outlive the operation.
template <class T, class Token>
auto async_receive(Mailbox<T>& mailbox, Token&& token) {
    return async_receive(mailbox, asio::system_executor(), std::forward<Token>(token));
}

/// As `async_receive(mailbox, executor, token)`, giving up after `timeout` (completes with an
/// empty optional then). The timeout is kept by herald's timer thread (see `next_for`).
/// **Thread-safety:** any thread, concurrently with other receivers on the mailbox.
/// **Lifetime:** as `async_receive`.
template <class T, class IoExecutor, class Token>
requires asio::execution::is_executor<IoExecutor>::value auto
async_receive_for(Mailbox<T>& mailbox, std::chrono::nanoseconds timeout, const IoExecutor& executor,
                  Token&& token) {
    return asio::async_initiate<Token, void(std::optional<Envelope<T>>)>(
        detail::InitiateReceive<T, IoExecutor>{&mailbox, detail::deadline_after(timeout), executor},
        token);
}

/// `async_receive_for(mailbox, timeout, asio::system_executor(), token)`, for tokens that
/// bring their executor.
/// **Thread-safety:** any thread, concurrently with other receivers on the mailbox.
/// **Lifetime:** as `async_receive`.
template <class T, class Token>
auto async_receive_for(Mailbox<T>& mailbox, std::chrono::nanoseconds timeout, Token&& token) {
    return async_receive_for(mailbox, timeout, asio::system_executor(), std::forward<Token>(token));
}

HERALD_NAMESPACE_END
