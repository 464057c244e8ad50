#pragma once
// One TCP connection to a Redis server as the bridge's I/O thread drives it: a non-blocking
// socket it polls, hiredis's RESP parser (redisReader) fed from it and an output buffer of
// commands formatted by hiredis (redisFormatCommandArgv).
//
// Why not redisContext: its blocking calls cannot be interrupted (shutdown must be prompt in
// every state) and its non-blocking connect differs between hiredis 0.14 and 1.x. The reader
// and the formatter are the part of hiredis that 0.14 and 1.x share unchanged.

#include <herald/version.hpp>

#include <hiredis/hiredis.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

HERALD_NAMESPACE_BEGIN
namespace detail::redis {

struct ReplyDeleter {
    void operator()(redisReply* reply) const noexcept { freeReplyObject(reply); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

inline std::string_view reply_text(const redisReply* r) noexcept {
    return r->str != nullptr ? std::string_view(r->str, static_cast<std::size_t>(r->len))
                             : std::string_view();
}

/// A command in RESP, formatted by hiredis (binary-safe arguments).
inline std::string format_command(const std::vector<std::string_view>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    argv.reserve(args.size());
    lengths.reserve(args.size());
    for (std::string_view a : args) {
        argv.push_back(a.data());
        lengths.push_back(a.size());
    }
    char* out = nullptr;
    const int n =
        redisFormatCommandArgv(&out, static_cast<int>(args.size()), argv.data(), lengths.data());
    if (n < 0 || out == nullptr) {
        throw std::bad_alloc();
    }
    std::string command(out, static_cast<std::size_t>(n));
    redisFreeCommand(out);
    return command;
}

inline std::string format_command(std::initializer_list<std::string_view> args) {
    return format_command(std::vector<std::string_view>(args));
}

/// `PUBLISH prefix+channel payload` in RESP, built in one allocation: the publish path's
/// command, byte for byte what format_command makes of the same arguments (tested).
/// The message is `head` followed by `payload` (a tagged message's header, or nothing).
inline std::string format_publish(std::string_view prefix, std::string_view channel,
                                  std::string_view payload, std::string_view head = {}) {
    const std::string channel_length = std::to_string(prefix.size() + channel.size());
    const std::string payload_length = std::to_string(head.size() + payload.size());
    std::string out;
    out.reserve(24 + channel_length.size() + prefix.size() + channel.size() +
                payload_length.size() + head.size() + payload.size());
    out.append("*3\r\n$7\r\nPUBLISH\r\n$").append(channel_length).append("\r\n");
    out.append(prefix).append(channel).append("\r\n$").append(payload_length).append("\r\n");
    out.append(head).append(payload).append("\r\n");
    return out;
}

/// A self-pipe: other threads make the I/O thread's poll return.
class Waker {
public:
    Waker() {
        if (::pipe(fds_) != 0) {
            throw std::runtime_error(std::string("herald::redis: pipe() failed: ") +
                                     std::strerror(errno));
        }
        for (int fd : fds_) {
            ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
            ::fcntl(fd, F_SETFD, FD_CLOEXEC);
        }
    }
    Waker(const Waker&) = delete;
    Waker& operator=(const Waker&) = delete;
    ~Waker() {
        ::close(fds_[0]);
        ::close(fds_[1]);
    }

    int fd() const noexcept { return fds_[0]; }
    void wake() noexcept {
        const char byte = 1;
        [[maybe_unused]] const auto n = ::write(fds_[1], &byte, 1); // full pipe: already awake
    }
    void drain() noexcept {
        char buffer[256];
        while (::read(fds_[0], buffer, sizeof buffer) > 0) {
        }
    }

private:
    int fds_[2] = {-1, -1};
};

/// The outcome of a connect attempt.
enum class ConnectResult { connected, failed, stopped };

/// A non-blocking TCP connection with a RESP parser and an output buffer.
class Connection {
public:
    Connection() = default;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection() { close(); }

    /// Connects to host:port within `timeout`; returns early with `stopped` when `wake_fd`
    /// becomes readable and `stopping` is set. On failure `error` says why.
    ConnectResult connect(const std::string& host, int port, std::chrono::milliseconds timeout,
                          int wake_fd, const std::atomic<bool>& stopping, std::string& error) {
        close();
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_NUMERICSERV;
        addrinfo* found = nullptr;
        const std::string service = std::to_string(port);
        if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
            error = "cannot resolve " + host + ": " + ::gai_strerror(rc);
            return ConnectResult::failed;
        }
        std::unique_ptr<addrinfo, void (*)(addrinfo*)> addresses(found, &::freeaddrinfo);
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        error = "no address for " + host;
        for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
            const int fd = ::socket(a->ai_family, a->ai_socktype, a->ai_protocol);
            if (fd < 0) {
                error = std::string("socket(): ") + std::strerror(errno);
                continue;
            }
            ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
            ::fcntl(fd, F_SETFD, FD_CLOEXEC);
            int one = 1;
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
                adopt(fd);
                return ConnectResult::connected;
            }
            if (errno != EINPROGRESS) {
                error = "connect to " + host + ":" + service + ": " + std::strerror(errno);
                ::close(fd);
                continue;
            }
            for (;;) {
                const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now());
                if (left.count() <= 0) {
                    error = "connect to " + host + ":" + service + ": timed out";
                    break;
                }
                pollfd fds[2] = {{fd, POLLOUT, 0}, {wake_fd, POLLIN, 0}};
                const int n = ::poll(fds, 2, static_cast<int>(left.count()));
                if (n < 0 && errno == EINTR) {
                    continue;
                }
                if (fds[1].revents != 0) {
                    char buffer[256];
                    while (::read(wake_fd, buffer, sizeof buffer) > 0) {
                    }
                    if (stopping.load(std::memory_order_relaxed)) {
                        ::close(fd);
                        return ConnectResult::stopped;
                    }
                }
                if (n > 0 && fds[0].revents != 0) {
                    int so_error = 0;
                    socklen_t len = sizeof so_error;
                    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
                    if (so_error == 0) {
                        adopt(fd);
                        return ConnectResult::connected;
                    }
                    error = "connect to " + host + ":" + service + ": " + std::strerror(so_error);
                    break;
                }
            }
            ::close(fd);
        }
        return ConnectResult::failed;
    }

    void close() noexcept {
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
        if (reader_ != nullptr) {
            redisReaderFree(reader_);
            reader_ = nullptr;
        }
        out_.clear();
        out_sent_ = 0;
    }

    bool open() const noexcept { return fd_ >= 0; }
    int fd() const noexcept { return fd_; }

    /// Appends a formatted command to the output buffer.
    void queue(std::string_view command) { out_.append(command); }
    bool wants_write() const noexcept { return out_sent_ < out_.size(); }
    std::size_t pending_output() const noexcept { return out_.size() - out_sent_; }

    /// Writes what the socket takes now. False on a broken connection (`error` says why).
    bool flush(std::string& error) {
        while (out_sent_ < out_.size()) {
#ifdef MSG_NOSIGNAL
            constexpr int flags = MSG_NOSIGNAL;
#else
            constexpr int flags = 0;
#endif
            const ssize_t n = ::send(fd_, out_.data() + out_sent_, out_.size() - out_sent_, flags);
            if (n > 0) {
                out_sent_ += static_cast<std::size_t>(n);
                continue;
            }
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                break;
            }
            error = std::string("write: ") + std::strerror(errno);
            return false;
        }
        if (out_sent_ == out_.size()) {
            out_.clear();
            out_sent_ = 0;
        } else if (out_sent_ > (1u << 20)) {
            out_.erase(0, out_sent_);
            out_sent_ = 0;
        }
        return true;
    }

    /// Reads what the socket has into the parser. False on end of stream or an error.
    bool fill(std::string& error) {
        char buffer[65536];
        for (int round = 0; round < 16; ++round) {
            const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
            if (n > 0) {
                if (redisReaderFeed(reader_, buffer, static_cast<std::size_t>(n)) != REDIS_OK) {
                    error = "protocol error: " + std::string(reader_->errstr);
                    return false;
                }
                if (static_cast<std::size_t>(n) < sizeof buffer) {
                    return true;
                }
                continue;
            }
            if (n == 0) {
                error = "connection closed by the server";
                return false;
            }
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return true;
            }
            error = std::string("read: ") + std::strerror(errno);
            return false;
        }
        return true;
    }

    /// The next complete reply, or null if none is buffered. Throws on a protocol error.
    Reply next_reply() {
        void* reply = nullptr;
        if (redisReaderGetReply(reader_, &reply) != REDIS_OK) {
            throw std::runtime_error("protocol error: " + std::string(reader_->errstr));
        }
        return Reply(static_cast<redisReply*>(reply));
    }

private:
    void adopt(int fd) {
        fd_ = fd;
        reader_ = redisReaderCreate();
        if (reader_ == nullptr) {
            close();
            throw std::bad_alloc();
        }
    }

    int fd_ = -1;
    redisReader* reader_ = nullptr;
    std::string out_;
    std::size_t out_sent_ = 0;
};

} // namespace detail::redis
HERALD_NAMESPACE_END
