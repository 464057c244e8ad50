#pragma once
// The Redis bridge tests' server: a redis-server child on 127.0.0.1 and a free port, without
// persistence, killed with the test (PR_SET_PDEATHSIG) and on destruction; plus a plain
// hiredis client for checking what the server sees, and a bounded wait.

#include <hiredis/hiredis.h>

#include <arpa/inet.h>
#include <csignal>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace redis_test {

using namespace std::chrono_literals;

/// Polls `done` until it holds or `timeout` passes; the result of the last poll.
inline bool eventually(const std::function<bool()>& done,
                       std::chrono::milliseconds timeout = 10000ms) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (done()) {
            return true;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            return done();
        }
        std::this_thread::sleep_for(2ms);
    }
}

inline int free_loopback_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        ::close(fd);
        throw std::runtime_error("could not bind an ephemeral loopback port");
    }
    const int port = ntohs(addr.sin_port);
    ::close(fd);
    return port;
}

struct ReplyFree {
    void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyFree>;

/// A blocking hiredis connection (the test's own view of the server).
class Client {
public:
    explicit Client(int port, std::chrono::milliseconds patience = 10000ms) {
        const auto deadline = std::chrono::steady_clock::now() + patience;
        for (;;) {
            timeval tv{1, 0};
            context_ = redisConnectWithTimeout("127.0.0.1", port, tv);
            if (context_ != nullptr && context_->err == 0) {
                ReplyPtr pong(static_cast<redisReply*>(redisCommand(context_, "PING")));
                if (pong) {
                    break;
                }
            }
            if (context_ != nullptr) {
                redisFree(context_);
                context_ = nullptr;
            }
            if (std::chrono::steady_clock::now() > deadline) {
                throw std::runtime_error("redis-server on port " + std::to_string(port) +
                                         " does not answer");
            }
            std::this_thread::sleep_for(10ms);
        }
        timeval tv{10, 0};
        redisSetTimeout(context_, tv);
    }
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;
    ~Client() {
        if (context_ != nullptr) {
            redisFree(context_);
        }
    }

    ReplyPtr command(const std::vector<std::string>& args) {
        std::vector<const char*> argv;
        std::vector<std::size_t> lengths;
        for (const auto& a : args) {
            argv.push_back(a.data());
            lengths.push_back(a.size());
        }
        ReplyPtr reply(static_cast<redisReply*>(redisCommandArgv(
            context_, static_cast<int>(args.size()), argv.data(), lengths.data())));
        if (!reply) {
            throw std::runtime_error(std::string("redis command failed: ") + context_->errstr);
        }
        return reply;
    }

    /// Sends without reading the reply (SUBSCRIBE, then read()).
    void send(const std::vector<std::string>& args) {
        std::vector<const char*> argv;
        std::vector<std::size_t> lengths;
        for (const auto& a : args) {
            argv.push_back(a.data());
            lengths.push_back(a.size());
        }
        redisAppendCommandArgv(context_, static_cast<int>(args.size()), argv.data(),
                               lengths.data());
    }

    /// The next reply (times out after 10 s with an exception).
    ReplyPtr read() {
        void* reply = nullptr;
        if (redisGetReply(context_, &reply) != REDIS_OK || reply == nullptr) {
            throw std::runtime_error(std::string("redis read failed: ") + context_->errstr);
        }
        return ReplyPtr(static_cast<redisReply*>(reply));
    }

    long long integer(const std::vector<std::string>& args) {
        auto r = command(args);
        if (r->type != REDIS_REPLY_INTEGER) {
            throw std::runtime_error("expected an integer reply to " + args[0]);
        }
        return r->integer;
    }

    /// PUBSUB NUMSUB channel.
    long long numsub(const std::string& channel) {
        auto r = command({"PUBSUB", "NUMSUB", channel});
        return r->element[1]->integer;
    }
    long long numpat() { return integer({"PUBSUB", "NUMPAT"}); }

private:
    redisContext* context_ = nullptr;
};

inline std::string text(const redisReply* r) {
    return std::string(r->str, r->len);
}

/// A redis-server process on a port of its own.
class Server {
public:
    Server() : port_(free_loopback_port()) { start(); }
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;
    ~Server() { kill(); }

    int port() const noexcept { return port_; }

    /// Starts the server (again, on the same port) and waits until it answers.
    void start() {
        const std::string port = std::to_string(port_);
        std::vector<std::string> argv = {
            HERALD_TEST_REDIS_SERVER, "--port", port,          "--bind", "127.0.0.1", "--save", "",
            "--appendonly",           "no",     "--daemonize", "no"};
        std::vector<char*> args;
        for (auto& a : argv) {
            args.push_back(a.data());
        }
        args.push_back(nullptr);
        const pid_t parent = ::getpid();
        pid_ = ::fork();
        if (pid_ < 0) {
            throw std::runtime_error("fork failed");
        }
        if (pid_ == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent) {
                ::_exit(127);
            }
            const int null_fd = ::open("/dev/null", O_WRONLY);
            ::dup2(null_fd, STDOUT_FILENO);
            ::dup2(null_fd, STDERR_FILENO);
            ::execv(args[0], args.data());
            ::_exit(127);
        }
        Client probe(port_); // waits until it answers
    }

    /// SIGKILL and reap.
    void kill() {
        if (pid_ > 0) {
            ::kill(pid_, SIGCONT);
            ::kill(pid_, SIGKILL);
            int status = 0;
            ::waitpid(pid_, &status, 0);
            pid_ = -1;
        }
    }
    void pause() { ::kill(pid_, SIGSTOP); }
    void resume() { ::kill(pid_, SIGCONT); }

private:
    int port_;
    pid_t pid_ = -1;
};

} // namespace redis_test
