// W8: what a coroutine receive (`co_await herald::next(mailbox, on)`, <herald/coroutine.hpp>)
// costs against `Mailbox::receive()`, on one thread, one message per iteration:
//  - receive: publish, then `receive()` (the message is queued: it returns at once);
//  - next_ready: publish, then a coroutine awaits `next` (queued: it does not suspend);
//  - next_suspended: the coroutine is parked on the empty mailbox; publish claims it and hands
//    its retry to a ManualExecutor, `run_one()` takes the message and resumes it, and it parks
//    again (the whole round trip of a waiting coroutine, without a second thread).

#include <herald/broker.hpp>
#include <herald/coroutine.hpp>
#include <herald/executor.hpp>
#include <herald/mailbox.hpp>
#include <herald/queue.hpp>

#include <benchmark/benchmark.h>

#include <coroutine>
#include <cstdint>
#include <exception>

namespace {

const herald::Topic<std::uint64_t> bench_topic{"w8.coroutine"};

herald::queued polled_queue() {
    herald::queued q;
    q.capacity = 64;
    q.executor = herald::Executor::polled();
    return q;
}

// A coroutine that starts at once and frees itself when it ends.
struct Detached {
    struct promise_type {
        Detached get_return_object() noexcept { return {}; }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_never final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::terminate(); }
    };
};

// Suspends until the benchmark resumes it through `handle`.
struct Step {
    std::coroutine_handle<>* handle;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) const noexcept { *handle = h; }
    void await_resume() const noexcept {}
};

Detached receive_after_each_step(herald::Mailbox<std::uint64_t>& mailbox, herald::Executor on,
                                 std::coroutine_handle<>& step, std::uint64_t& sum) {
    for (;;) {
        co_await Step{&step};
        auto m = co_await herald::next(mailbox, on);
        if (!m) {
            break;
        }
        sum += m->payload;
    }
}

Detached receive_until_end(herald::Mailbox<std::uint64_t>& mailbox, herald::Executor on,
                           std::uint64_t& sum) {
    while (auto m = co_await herald::next(mailbox, on)) { // GCC 12: name the result
        sum += m->payload;
    }
}

void BM_W8_receive(benchmark::State& state) {
    herald::Broker broker;
    auto mailbox = broker.subscribe(bench_topic, polled_queue());
    std::uint64_t sum = 0;
    std::uint64_t i = 0;
    for (auto _ : state) {
        broker.publish(bench_topic, ++i);
        sum += mailbox.receive()->payload;
    }
    benchmark::DoNotOptimize(sum);
    state.SetItemsProcessed(state.iterations());
}

void BM_W8_next_ready(benchmark::State& state) {
    herald::Broker broker;
    herald::ManualExecutor manual;
    auto mailbox = broker.subscribe(bench_topic, polled_queue());
    std::uint64_t sum = 0;
    std::uint64_t i = 0;
    std::coroutine_handle<> step;
    receive_after_each_step(mailbox, manual.executor(), step, sum);
    for (auto _ : state) {
        broker.publish(bench_topic, ++i);
        step.resume(); // awaits `next` with the message queued, then stops at the next step
    }
    benchmark::DoNotOptimize(sum);
    state.SetItemsProcessed(state.iterations());
    mailbox.unsubscribe();
    step.resume(); // the end: the coroutine finishes
}

void BM_W8_next_suspended(benchmark::State& state) {
    herald::Broker broker;
    herald::ManualExecutor manual;
    auto mailbox = broker.subscribe(bench_topic, polled_queue());
    std::uint64_t sum = 0;
    std::uint64_t i = 0;
    receive_until_end(mailbox, manual.executor(), sum); // parks at once
    for (auto _ : state) {
        broker.publish(bench_topic, ++i);
        manual.run_one();
    }
    benchmark::DoNotOptimize(sum);
    state.SetItemsProcessed(state.iterations());
    mailbox.unsubscribe();
    manual.run_all();
}

BENCHMARK(BM_W8_receive);
BENCHMARK(BM_W8_next_ready);
BENCHMARK(BM_W8_next_suspended);

} // namespace

BENCHMARK_MAIN();
