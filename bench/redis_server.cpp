#include "redis_server.hpp"

#include <arpa/inet.h>
#include <csignal>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace bench {
namespace {

int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return 0;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t length = sizeof addr;
    int port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0) {
        port = ntohs(addr.sin_port);
    }
    ::close(fd);
    return port;
}

struct ReplyDeleter {
    void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

Reply get_reply(redisContext* c) {
    void* raw = nullptr;
    if (redisGetReply(c, &raw) != REDIS_OK || raw == nullptr) {
        throw std::runtime_error(std::string("redis: ") + c->errstr);
    }
    Reply reply(static_cast<redisReply*>(raw));
    if (reply->type == REDIS_REPLY_ERROR) {
        throw std::runtime_error(std::string("redis: ") + reply->str);
    }
    return reply;
}

void append_argv(redisContext* c, const std::vector<std::string>& argv) {
    std::vector<const char*> pointers;
    std::vector<std::size_t> lengths;
    pointers.reserve(argv.size());
    lengths.reserve(argv.size());
    for (const std::string& a : argv) {
        pointers.push_back(a.data());
        lengths.push_back(a.size());
    }
    if (redisAppendCommandArgv(c, static_cast<int>(argv.size()), pointers.data(), lengths.data()) !=
        REDIS_OK) {
        throw std::runtime_error(std::string("redis: ") + c->errstr);
    }
}

std::string& error_text() {
    static std::string text;
    return text;
}

} // namespace

RedisServer* RedisServer::instance() {
    static std::unique_ptr<RedisServer> server = [] {
        std::unique_ptr<RedisServer> s(new RedisServer());
        if (!s->start(error_text())) {
            s.reset();
        }
        return s;
    }();
    return server.get();
}

const std::string& RedisServer::error() {
    return error_text();
}

bool RedisServer::start(std::string& why) {
    port_ = free_port();
    if (port_ == 0) {
        why = "no free port on 127.0.0.1";
        return false;
    }
    const char* binary = std::getenv("HERALD_BENCH_REDIS_SERVER");
    const std::string program = binary != nullptr ? binary : "redis-server";
    const std::string port = std::to_string(port_);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
        why = "fork failed";
        return false;
    }
    if (pid == 0) {
        // Dies with the benchmark, whatever happens to it.
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (::getppid() != parent) {
            ::_exit(1);
        }
        // Keep the benchmark's output clean: the server's log goes nowhere.
        const int null = ::open("/dev/null", O_WRONLY);
        if (null >= 0) {
            ::dup2(null, STDOUT_FILENO);
            ::dup2(null, STDERR_FILENO);
        }
        // No persistence, no limit on slow pub/sub clients (the benchmark reads every message
        // but may lag behind a burst), quiet.
        ::execlp(program.c_str(), program.c_str(), "--port", port.c_str(), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "no",
                 "--client-output-buffer-limit", "pubsub 0 0 0", "--loglevel", "warning",
                 "--logfile", "", "--dir", "/tmp", static_cast<char*>(nullptr));
        ::_exit(127);
    }
    pid_ = pid;
    for (int attempt = 0; attempt < 200; ++attempt) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            why = program;
            why += " exited at start (is it installed?)";
            return false;
        }
        redisContext* c = redisConnect("127.0.0.1", port_);
        if (c != nullptr && c->err == 0) {
            redisFree(c);
            return true;
        }
        if (c != nullptr) {
            redisFree(c);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    why = "redis-server did not accept connections within 5 s";
    return false;
}

RedisServer::~RedisServer() {
    if (pid_ > 0) {
        ::kill(pid_, SIGTERM);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }
}

RedisConnection RedisServer::connect() const {
    RedisConnection c(redisConnect("127.0.0.1", port_));
    if (!c || c->err != 0) {
        std::string why = "redis: cannot connect to 127.0.0.1:";
        why += std::to_string(port_);
        throw std::runtime_error(why);
    }
    return c;
}

void redis_batched(redisContext* c, const std::string& command,
                   const std::vector<std::string>& arguments, std::size_t batch) {
    std::size_t sent = 0;
    std::size_t pending = 0;
    while (sent < arguments.size()) {
        const std::size_t end = std::min(arguments.size(), sent + batch);
        std::vector<std::string> argv;
        argv.reserve(end - sent + 1);
        argv.push_back(command);
        argv.insert(argv.end(), arguments.begin() + static_cast<std::ptrdiff_t>(sent),
                    arguments.begin() + static_cast<std::ptrdiff_t>(end));
        append_argv(c, argv);
        pending += end - sent;
        sent = end;
        // Keep a bounded number of replies in flight.
        while (pending > 50 * batch) {
            get_reply(c);
            --pending;
        }
    }
    while (pending > 0) {
        get_reply(c);
        --pending;
    }
}

long long redis_integer(redisContext* c, const std::vector<std::string>& argv) {
    append_argv(c, argv);
    Reply reply = get_reply(c);
    if (reply->type != REDIS_REPLY_INTEGER) {
        throw std::runtime_error("redis: expected an integer reply");
    }
    return reply->integer;
}

long long redis_used_memory(redisContext* c) {
    append_argv(c, {"INFO", "memory"});
    Reply reply = get_reply(c);
    const std::string text(reply->str, reply->len);
    const std::string key = "used_memory:";
    const std::size_t at = text.find(key);
    if (at == std::string::npos) {
        throw std::runtime_error("redis: INFO memory without used_memory");
    }
    return std::stoll(text.substr(at + key.size()));
}

void redis_read_messages(redisContext* c, long long count) {
    for (long long i = 0; i < count; ++i) {
        get_reply(c);
    }
}

} // namespace bench
