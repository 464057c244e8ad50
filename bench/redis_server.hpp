#pragma once
// A private redis-server for the benchmarks: started on 127.0.0.1 and a free port the first
// time a Redis benchmark needs it, stopped when the process exits (and killed by the kernel if
// the benchmark dies first). Plus the few hiredis calls the workloads share.

#include <hiredis/hiredis.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace bench {

struct RedisContextDeleter {
    void operator()(redisContext* c) const noexcept { redisFree(c); }
};
using RedisConnection = std::unique_ptr<redisContext, RedisContextDeleter>;

class RedisServer {
public:
    /// The process-wide server, started on first use. Null (and `error()` says why) when
    /// redis-server could not be started.
    static RedisServer* instance();
    static const std::string& error();

    RedisServer(const RedisServer&) = delete;
    RedisServer& operator=(const RedisServer&) = delete;
    ~RedisServer();

    /// A new connection to the server; throws std::runtime_error on failure.
    RedisConnection connect() const;
    int port() const noexcept { return port_; }

private:
    RedisServer() = default;
    bool start(std::string& why);

    int pid_ = -1;
    int port_ = 0;
};

/// Sends `command` with each of `arguments` batched `batch` at a time (e.g. SUBSCRIBE with 1000
/// channels per call) and reads one reply per argument. Throws on an error reply.
void redis_batched(redisContext* c, const std::string& command,
                   const std::vector<std::string>& arguments, std::size_t batch = 1000);

/// One command's integer reply (throws on anything else).
long long redis_integer(redisContext* c, const std::vector<std::string>& argv);

/// INFO memory's used_memory.
long long redis_used_memory(redisContext* c);

/// Reads `count` pushed messages (message/pmessage) from a subscribed connection.
void redis_read_messages(redisContext* c, long long count);

} // namespace bench
