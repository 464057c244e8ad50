#pragma once
// The broker's own threads, which run the turns of queued subscriptions on the default
// executor. A task is a function and its argument: the pool knows nothing of queues.

#include <herald/version.hpp>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

HERALD_NAMESPACE_BEGIN
namespace detail {

/// One unit of work for the pool.
struct PoolTask {
    void (*run)(void*) noexcept;
    void* argument;
};

class WorkerPool {
public:
    explicit WorkerPool(std::size_t threads) {
        workers_.reserve(threads);
        for (std::size_t i = 0; i < threads; ++i) {
            workers_.emplace_back([this] { work(); });
        }
    }
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;
    ~WorkerPool() { stop(); }

    /// Queues `task` to run once on one of the threads.
    void submit(PoolTask task) {
        {
            std::lock_guard lock(mutex_);
            ready_.push_back(task);
            waiting_.store(ready_.size(), std::memory_order_relaxed);
        }
        cv_.notify_one();
    }

    /// Some task waits for a thread (a hint: read without the lock).
    bool has_waiting() const noexcept { return waiting_.load(std::memory_order_relaxed) != 0; }

    /// Runs what is queued and joins the threads. Idempotent.
    void stop() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        cv_.notify_all();
        for (auto& t : workers_) {
            if (t.joinable()) {
                t.join();
            }
        }
        workers_.clear();
    }

private:
    void work() {
        for (;;) {
            PoolTask task{};
            {
                std::unique_lock lock(mutex_);
                cv_.wait(lock, [&] { return stopping_ || !ready_.empty(); });
                if (ready_.empty()) {
                    return; // stopping and nothing left
                }
                task = ready_.front();
                ready_.pop_front();
                waiting_.store(ready_.size(), std::memory_order_relaxed);
            }
            task.run(task.argument);
        }
    }

    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<PoolTask> ready_;
    std::atomic<std::size_t> waiting_{0}; // ready_.size(), for has_waiting()
    bool stopping_ = false;
    std::vector<std::thread> workers_;
};

} // namespace detail
HERALD_NAMESPACE_END
