// Unit tests of <herald/fwd.hpp>: a header that includes only fwd.hpp can declare interfaces in
// herald's types, and those names are the very entities the full headers define.
#include <herald/fwd.hpp>

#include "test_catch.hpp"

#include <cstddef>
#include <string>
#include <type_traits>

namespace {

// Everything on this side of the full headers sees only the forward declarations.
template <class... Declared>
struct Names {};

using Declared =
    Names<herald::Broker<>, herald::Broker<int, herald::single_threaded>, herald::Topic<int>,
          herald::Message<int>, herald::Envelope<int>, herald::Mailbox<int>, herald::Publisher<int>,
          herald::QueueOptions, herald::Executor, herald::ManualExecutor, herald::MessageKind,
          herald::Subscription, herald::SubscriptionGroup, herald::SubscriptionStats,
          herald::BrokerStats, herald::BrokerOptions, herald::ErrorInfo, herald::DeadLetter,
          herald::Pattern, herald::Overflow, herald::ShutdownMode, herald::ErrorKind,
          herald::ExceptionPolicy, herald::thread_safe, herald::single_threaded>;

// An interface a user's header might declare with forward declarations alone.
std::size_t publish_reading(herald::Broker<>& broker, const herald::Topic<int>& topic, int value);
herald::Subscription listen(herald::Broker<>& broker, const herald::Topic<int>& topic, int& sum);

} // namespace

#include <herald/herald.hpp>

namespace {

using Defined =
    Names<herald::Broker<std::string, herald::thread_safe>,
          herald::Broker<int, herald::single_threaded>, herald::Topic<int>, herald::Message<int>,
          herald::Envelope<int>, herald::Mailbox<int>, herald::Publisher<int, herald::thread_safe>,
          herald::queued, herald::Executor, herald::ManualExecutor, herald::MessageKind,
          herald::Subscription, herald::SubscriptionGroup, herald::SubscriptionStats,
          herald::BrokerStats, herald::BrokerOptions, herald::ErrorInfo, herald::DeadLetter,
          herald::Pattern, herald::Overflow, herald::ShutdownMode, herald::ErrorKind,
          herald::ExceptionPolicy, herald::thread_safe, herald::single_threaded>;

std::size_t publish_reading(herald::Broker<>& broker, const herald::Topic<int>& topic, int value) {
    return broker.publish(topic, value);
}

herald::Subscription listen(herald::Broker<>& broker, const herald::Topic<int>& topic, int& sum) {
    return broker.subscribe(topic, [&sum](const int& v) { sum += v; });
}

} // namespace

TEST_CASE("fwd: the forward declarations, default arguments included, are the defined entities",
          "[fwd]") {
    static_assert(std::is_same_v<Declared, Defined>);
    // The enumerations were declared with their underlying types.
    static_assert(std::is_same_v<std::underlying_type_t<herald::MessageKind>, unsigned char>);
    static_assert(sizeof(herald::Overflow) == 1 && sizeof(herald::ShutdownMode) == 1);
    static_assert(sizeof(herald::ErrorKind) == 1 && sizeof(herald::ExceptionPolicy) == 1);
    SUCCEED();
}

TEST_CASE("fwd: functions declared with forward-declared types work on the defined ones", "[fwd]") {
    herald::Broker<> broker;
    const herald::Topic<int> topic{"readings"};
    int sum = 0;
    auto sub = listen(broker, topic, sum);
    CHECK(publish_reading(broker, topic, 4) == 1);
    CHECK(publish_reading(broker, topic, 5) == 1);
    CHECK(sum == 9);
}
