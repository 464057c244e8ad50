// herald_bench_queued: W4, queued cross-thread delivery. Peers: ZeroMQ inproc PUB/SUB,
// moodycamel::ConcurrentQueue (the hand-off ceiling: one queue per subscriber, polled) and a
// hand-written mutex + deque + condition-variable queue (the floor). herald's side is in
// herald_queued.cpp. Every queue is bounded to the same capacity and lossless: a full queue
// makes the publisher wait, never drops.

#include "queued_driver.hpp"

#include <concurrentqueue/concurrentqueue.h>
#include <zmq.h>

#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

namespace bench {

std::size_t throughput_messages_total() {
    const char* v = std::getenv("HERALD_BENCH_QUEUED_MESSAGES");
    return v != nullptr ? static_cast<std::size_t>(std::stoull(v)) : std::size_t{1} << 20;
}

std::size_t latency_messages_total() {
    const char* v = std::getenv("HERALD_BENCH_LATENCY_MESSAGES");
    return v != nullptr ? static_cast<std::size_t>(std::stoull(v)) : 100000;
}

namespace {

/// Starts one receiving thread per subscriber running `receive_one(s)` until it has all.
template <class ReceiveOne>
std::vector<std::thread> start_receivers(int subscribers, Receivers& receivers,
                                         ReceiveOne receive_one) {
    std::vector<std::thread> threads;
    for (int s = 0; s < subscribers; ++s) {
        threads.emplace_back([s, &receivers, receive_one] {
            while (!receivers.deliver(s, receive_one(s))) {
            }
        });
    }
    return threads;
}

// ---- mutex + deque + condition variable ---------------------------------------------------

class MutexDequeQueue {
public:
    explicit MutexDequeQueue(std::size_t cap) : capacity_(cap) {}

    void push(const Payload64& m) {
        {
            std::unique_lock lock(mutex_);
            not_full_.wait(lock, [&] { return items_.size() < capacity_; });
            items_.push_back(m);
        }
        not_empty_.notify_one();
    }

    Payload64 pop() {
        Payload64 m;
        {
            std::unique_lock lock(mutex_);
            not_empty_.wait(lock, [&] { return !items_.empty(); });
            m = items_.front();
            items_.pop_front();
        }
        not_full_.notify_one();
        return m;
    }

private:
    std::mutex mutex_;
    std::condition_variable not_empty_;
    std::condition_variable not_full_;
    std::deque<Payload64> items_;
    std::size_t capacity_;
};

class MutexDeque {
public:
    MutexDeque(int, int subscribers, std::size_t cap, Receivers& receivers) {
        for (int s = 0; s < subscribers; ++s) {
            queues_.push_back(std::make_unique<MutexDequeQueue>(cap));
        }
        threads_ = start_receivers(subscribers, receivers, [this](int s) {
            return queues_[static_cast<std::size_t>(s)]->pop();
        });
    }
    void send(int, const Payload64& m) {
        for (auto& q : queues_) {
            q->push(m);
        }
    }
    void stop() {
        for (std::thread& t : threads_) {
            t.join();
        }
    }

private:
    std::vector<std::unique_ptr<MutexDequeQueue>> queues_;
    std::vector<std::thread> threads_;
};

// ---- moodycamel -----------------------------------------------------------------------------

class Moodycamel {
    using Queue = moodycamel::ConcurrentQueue<Payload64>;

public:
    Moodycamel(int publishers, int subscribers, std::size_t cap, Receivers& receivers)
        : capacity_(cap) {
        for (int s = 0; s < subscribers; ++s) {
            queues_.push_back(std::make_unique<Queue>(cap * static_cast<std::size_t>(publishers),
                                                      static_cast<std::size_t>(publishers), 0));
        }
        tokens_.resize(static_cast<std::size_t>(publishers));
        for (int p = 0; p < publishers; ++p) {
            for (auto& q : queues_) {
                tokens_[static_cast<std::size_t>(p)].push_back(
                    std::make_unique<moodycamel::ProducerToken>(*q));
            }
        }
        for (auto& q : queues_) {
            consumer_tokens_.push_back(std::make_unique<moodycamel::ConsumerToken>(*q));
        }
        // The ceiling: the receiver polls (yielding when empty) instead of sleeping.
        threads_ = start_receivers(subscribers, receivers, [this](int s) {
            Payload64 m;
            const auto i = static_cast<std::size_t>(s);
            while (!queues_[i]->try_dequeue(*consumer_tokens_[i], m)) {
                std::this_thread::yield();
            }
            return m;
        });
    }
    void send(int p, const Payload64& m) {
        auto& tokens = tokens_[static_cast<std::size_t>(p)];
        for (std::size_t s = 0; s < queues_.size(); ++s) {
            // Bounded like the others: wait (yielding) while the subscriber's queue is full.
            // try_enqueue alone cannot bound it fairly: with two producers one can take every
            // preallocated block and starve the other forever.
            while (queues_[s]->size_approx() >= capacity_) {
                std::this_thread::yield();
            }
            queues_[s]->enqueue(*tokens[s], m);
        }
    }
    void stop() {
        for (std::thread& t : threads_) {
            t.join();
        }
    }

private:
    std::size_t capacity_;
    std::vector<std::unique_ptr<Queue>> queues_;
    std::vector<std::vector<std::unique_ptr<moodycamel::ProducerToken>>> tokens_;
    std::vector<std::unique_ptr<moodycamel::ConsumerToken>> consumer_tokens_;
    std::vector<std::thread> threads_;
};

// ---- ZeroMQ inproc PUB/SUB ----------------------------------------------------------------

void zmq_check(int rc, const char* what) {
    if (rc != 0) {
        throw std::runtime_error(join({"zmq: ", what, ": ", zmq_strerror(zmq_errno())}));
    }
}

class ZeroMq {
public:
    ZeroMq(int publishers, int subscribers, std::size_t cap, Receivers& receivers)
        : context_(zmq_ctx_new()) {
        const int hwm = static_cast<int>(cap);
        const int one = 1;
        const int zero = 0;
        for (int p = 0; p < publishers; ++p) {
            // XPUB with NODROP: a full pipe makes zmq_send fail with EAGAIN instead of
            // silently dropping, so the run is lossless like the other queues.
            void* pub = zmq_socket(context_, ZMQ_XPUB);
            zmq_check(zmq_setsockopt(pub, ZMQ_SNDHWM, &hwm, sizeof hwm), "SNDHWM");
            zmq_check(zmq_setsockopt(pub, ZMQ_XPUB_NODROP, &one, sizeof one), "XPUB_NODROP");
            zmq_check(zmq_setsockopt(pub, ZMQ_LINGER, &zero, sizeof zero), "LINGER");
            zmq_check(zmq_bind(pub, join({"inproc://w4-", std::to_string(p)}).c_str()), "bind");
            publishers_.push_back(pub);
        }
        for (int s = 0; s < subscribers; ++s) {
            void* sub = zmq_socket(context_, ZMQ_SUB);
            zmq_check(zmq_setsockopt(sub, ZMQ_RCVHWM, &hwm, sizeof hwm), "RCVHWM");
            zmq_check(zmq_setsockopt(sub, ZMQ_LINGER, &zero, sizeof zero), "LINGER");
            zmq_check(zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0), "SUBSCRIBE");
            for (int p = 0; p < publishers; ++p) {
                zmq_check(zmq_connect(sub, join({"inproc://w4-", std::to_string(p)}).c_str()),
                          "connect");
            }
            subscribers_.push_back(sub);
        }
        handshake();
        threads_ = start_receivers(subscribers, receivers, [this](int s) {
            Payload64 m{};
            void* sub = subscribers_[static_cast<std::size_t>(s)];
            while (zmq_recv(sub, &m, sizeof m, 0) != static_cast<int>(sizeof m)) {
            }
            return m;
        });
    }

    ~ZeroMq() {
        for (void* s : publishers_) {
            zmq_close(s);
        }
        for (void* s : subscribers_) {
            zmq_close(s);
        }
        zmq_ctx_term(context_);
    }

    void send(int p, const Payload64& m) {
        void* pub = publishers_[static_cast<std::size_t>(p)];
        while (zmq_send(pub, &m, sizeof m, 0) != static_cast<int>(sizeof m)) {
            std::this_thread::yield(); // EAGAIN: the pipe is full
        }
    }

    void stop() {
        for (std::thread& t : threads_) {
            t.join();
        }
    }

private:
    /// ZeroMQ's slow joiner: a subscription travels to the publisher asynchronously. Send
    /// warm-up messages until every subscriber has one from every publisher.
    void handshake() {
        const std::size_t n = subscribers_.size() * publishers_.size();
        std::vector<bool> seen(n, false);
        std::size_t seen_count = 0;
        while (seen_count < n) {
            for (std::size_t p = 0; p < publishers_.size(); ++p) {
                Payload64 m = make_message(p, warm_up_flag);
                zmq_send(publishers_[p], &m, sizeof m, ZMQ_DONTWAIT);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
            for (std::size_t s = 0; s < subscribers_.size(); ++s) {
                Payload64 m{};
                while (zmq_recv(subscribers_[s], &m, sizeof m, ZMQ_DONTWAIT) ==
                       static_cast<int>(sizeof m)) {
                    const std::size_t k = s * publishers_.size() + m.words[0];
                    if (!seen[k]) {
                        seen[k] = true;
                        ++seen_count;
                    }
                }
            }
        }
    }

    void* context_;
    std::vector<void*> publishers_;
    std::vector<void*> subscribers_;
    std::vector<std::thread> threads_;
};

} // namespace
} // namespace bench

int main(int argc, char** argv) {
    using namespace bench;
    for (bool latency : {false, true}) {
        for (int n : {1, 2}) {
#if HERALD_BENCH_WITH_QUEUE
            add_w4_herald(n, latency);
#endif
            add_queued<Moodycamel>("moodycamel", queued_capacity, n, latency);
            add_queued<ZeroMq>("zeromq_inproc", queued_capacity, n, latency);
            add_queued<MutexDeque>("mutex_deque_floor", queued_capacity, n, latency);
        }
    }
#if HERALD_BENCH_WITH_QUEUE
    add_w4_herald_policies();
#endif
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
        return 1;
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
