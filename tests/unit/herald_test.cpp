// Unit tests of <herald/herald.hpp>, the umbrella: with it alone a program uses every public
// type and function of herald that needs only the standard library.
#include <herald/herald.hpp>

#include "test_catch.hpp"

#include <optional>
#include <string>
#include <vector>

using namespace std::chrono_literals;

TEST_CASE("herald: the umbrella header alone lets a program use every public type", "[herald]") {
    static_assert(HERALD_VERSION >= 0);
    herald::BrokerOptions options;
    options.exception_policy = herald::ExceptionPolicy::isolate;
    options.dead_letter_channel = "dead";
    herald::Broker<std::string, herald::thread_safe> broker(options);
    std::vector<std::string> log;

    // Typed topic, publisher, message, handler concepts, subscription group.
    const herald::Topic<int> numbers{"numbers"};
    static_assert(herald::Handler<void (*)(const int&), int>);
    static_assert(herald::PublishableTo<int, int>);
    herald::SubscriptionGroup group;
    group += broker.subscribe(numbers, [&](const herald::Message<int>& m) {
        CHECK(m.kind == herald::MessageKind::message);
        log.push_back("n" + std::to_string(m.payload));
    });
    herald::Publisher<int> publisher = broker.publisher(numbers);
    CHECK(publisher.publish(1) == 1);

    // Patterns and their matchers.
    const herald::Pattern pattern = herald::glob_pattern("alerts:*");
    CHECK(herald::glob_match("alerts:*", "alerts:cpu"));
    CHECK(herald::nats_match("a.*", "a.b"));
    CHECK(herald::mqtt_match("a/#", "a/b"));
    CHECK(pattern.kind() == herald::PatternKind::glob);

    // Queued delivery: options, overflow, slow consumer, executors, mailbox, envelope.
    herald::ManualExecutor manual;
    herald::queued q;
    q.capacity = 1;
    q.overflow = herald::Overflow::drop_newest;
    q.executor = manual.executor();
    q.on_slow_consumer = [&](const herald::SlowConsumer& info) {
        log.push_back("slow:" + std::string(info.channel));
    };
    herald::Subscription queued_sub = broker.psubscribe(
        pattern, [&](const std::string& s) { log.push_back(s); }, q);
    herald::queued polled;
    polled.executor = herald::Executor::polled();
    herald::Mailbox<std::string> mailbox = broker.subscribe("alerts:cpu", polled);
    CHECK(broker.publish("alerts:cpu", "85%") == 2);
    CHECK(broker.publish("alerts:cpu", "90%") == 1); // the one-slot queue is full
    manual.run_all();
    std::optional<herald::Envelope<std::string>> envelope = mailbox.try_receive();
    REQUIRE(envelope.has_value());
    CHECK(envelope->payload == "85%");

    // Errors, the error hook and dead letters.
    std::vector<herald::ErrorKind> errors;
    broker.on_error([&](const herald::ErrorInfo& info) { errors.push_back(info.kind); });
    std::vector<herald::DeadLetter> letters;
    group += broker.subscribe(herald::Topic<herald::DeadLetter>{"dead"},
                              [&](const herald::DeadLetter& l) { letters.push_back(l); });
    group += broker.subscribe("fails", [](const std::string&) { throw 1; });
    CHECK(broker.publish("fails", "x") == 1);
    CHECK(errors == std::vector<herald::ErrorKind>{herald::ErrorKind::handler_exception});
    CHECK(letters.size() == 1);
    CHECK_THROWS_AS(broker.publish(herald::Topic<double>{"numbers"}, 1.0),
                    herald::type_mismatch_error);

    // Counters and shutdown.
    const herald::SubscriptionStats s = queued_sub.stats();
    const herald::DropCounts drops = s.drops;
    CHECK(drops.newest == 1);
    const herald::BrokerStats b = broker.stats();
    CHECK(b.dropped == 1);
    broker.shutdown(herald::ShutdownMode::discard);
    CHECK_THROWS_AS(broker.subscribe("late", [](const std::string&) {}),
                    herald::broker_closed_error);
    CHECK(log == std::vector<std::string>{"n1", "slow:alerts:cpu", "85%"});
}
