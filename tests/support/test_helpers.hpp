#pragma once
// Helpers shared by the unit, regression and stress tests: a one-shot
// gate, a small thread pool standing in for a user's executor, and the process's live heap bytes
// for "memory does not grow" checks.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define HERALD_TEST_SANITIZED_HEAP 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define HERALD_TEST_SANITIZED_HEAP 1
#endif
#endif

#if defined(HERALD_TEST_SANITIZED_HEAP)
// The sanitizers replace malloc; they report their own heap use (GCC ships no header for it).
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
#elif __has_include(<malloc.h>)
#include <malloc.h> // glibc's mallinfo2
#endif

namespace herald_test {

/// Bytes the process holds on the heap now, or 0 where that cannot be measured (then checks
/// that compare two readings pass trivially; the structure counts checked beside them do not).
inline std::size_t live_heap_bytes() noexcept {
#if defined(HERALD_TEST_SANITIZED_HEAP)
    return __sanitizer_get_current_allocated_bytes();
#elif defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    const struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
#else
    return 0;
#endif
}

/// A one-shot gate: threads wait until it opens.
class Gate {
public:
    void open() {
        {
            std::lock_guard lock(mutex_);
            open_ = true;
        }
        cv_.notify_all();
    }
    void wait() {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return open_; });
    }
    bool is_open() {
        std::lock_guard lock(mutex_);
        return open_;
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    bool open_ = false;
};

/// A small thread pool standing in for a user's executor (asio, a job system...). Its
/// destructor runs what is still queued, then joins.
class ThreadPool {
public:
    explicit ThreadPool(int threads) {
        for (int i = 0; i < threads; ++i) {
            threads_.emplace_back([this] { work(); });
        }
    }
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;
    ~ThreadPool() { join(); }

    void execute(std::function<void()> task) {
        {
            std::lock_guard lock(mutex_);
            tasks_.push_back(std::move(task));
        }
        cv_.notify_one();
    }

    /// Runs what is queued and stops the threads. Idempotent.
    void join() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        cv_.notify_all();
        for (auto& t : threads_) {
            if (t.joinable()) {
                t.join();
            }
        }
    }

private:
    void work() {
        for (;;) {
            std::function<void()> task;
            {
                std::unique_lock lock(mutex_);
                cv_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
                if (tasks_.empty()) {
                    return;
                }
                task = std::move(tasks_.front());
                tasks_.pop_front();
            }
            task();
        }
    }

    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<std::function<void()>> tasks_;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

} // namespace herald_test
