// Unit tests of <herald/mailbox.hpp>: a handler-less queued subscription received on the
// caller's thread, and the owning Envelope it hands out.
#include <herald/mailbox.hpp>

#include <herald/broker.hpp>
#include <herald/queue.hpp>

#include "test_catch.hpp"

#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

herald::queued polled_queue(std::size_t capacity) {
    herald::queued q;
    q.capacity = capacity;
    q.executor = herald::Executor::polled();
    return q;
}

} // namespace

TEST_CASE("mailbox: a default mailbox is inert", "[mailbox]") {
    herald::Mailbox<std::string> mailbox;
    CHECK_FALSE(mailbox.active());
    CHECK(mailbox.id() == 0);
    CHECK(mailbox.size() == 0);
    CHECK_FALSE(mailbox.try_receive().has_value());
    CHECK_FALSE(mailbox.receive_for(1ms).has_value());
    CHECK(mailbox.unsubscribe().delivered == 0);
}

TEST_CASE("mailbox: size counts what waits; unsubscribe discards it and counts it", "[mailbox]") {
    herald::Broker broker;
    auto mailbox = broker.subscribe("inbox", polled_queue(8));
    CHECK(mailbox.active());
    CHECK(mailbox.id() != 0);
    for (int i = 0; i < 3; ++i) {
        CHECK(broker.publish("inbox", std::to_string(i)) == 1);
    }
    CHECK(mailbox.size() == 3);
    auto first = mailbox.try_receive();
    REQUIRE(first.has_value());
    CHECK(first->payload == "0");
    CHECK(mailbox.size() == 2);
    const auto final_stats = mailbox.unsubscribe();
    CHECK_FALSE(mailbox.active());
    CHECK(final_stats.delivered == 1);
    CHECK(final_stats.drops.discarded == 2);
    CHECK(broker.publish("inbox", "late") == 0);
}

TEST_CASE("mailbox: an envelope and its copies stay valid after the mailbox and the broker are "
          "gone",
          "[mailbox]") {
    std::optional<herald::Envelope<std::string>> kept;
    {
        herald::Broker broker;
        auto mailbox = broker.psubscribe("news:*", polled_queue(4));
        broker.publish("news:sports", "goal");
        auto received = mailbox.try_receive();
        REQUIRE(received.has_value());
        kept.emplace(*received); // a copy shares the message
    }
    REQUIRE(kept.has_value());
    CHECK(kept->payload == "goal");
    CHECK(kept->channel == "news:sports");
    CHECK(kept->pattern == "news:*");
    CHECK(kept->message().kind == herald::MessageKind::pmessage);
}

TEST_CASE("mailbox: receive returns what arrived before shutdown, then nothing without waiting",
          "[mailbox]") {
    herald::Broker broker;
    auto mailbox = broker.subscribe("last", polled_queue(4));
    broker.publish("last", "one");
    broker.shutdown(herald::ShutdownMode::drain);
    auto m = mailbox.receive(); // a mailbox has no handler: draining leaves its messages to it
    REQUIRE(m.has_value());
    CHECK(m->payload == "one");
    CHECK_FALSE(mailbox.receive().has_value());
    CHECK_FALSE(mailbox.active());
}

TEST_CASE("mailbox: a mailbox is consumed with try_receive, receive_for and a listen loop",
          "[queue][mailbox]") {
    herald::Broker broker;
    herald::queued q;
    q.capacity = 16;
    auto inbox = broker.subscribe("system_notifications", q);
    auto alerts = broker.psubscribe("alerts:*", q);
    CHECK_FALSE(inbox.try_receive().has_value());
    CHECK_FALSE(inbox.receive_for(1ms).has_value());
    CHECK(broker.publish("system_notifications", "disk 90%") == 1);
    CHECK(broker.publish("alerts:cpu", "85%") == 1);
    auto m = inbox.try_receive();
    REQUIRE(m.has_value());
    CHECK(m->kind == herald::MessageKind::message);
    CHECK(m->channel == "system_notifications");
    CHECK(m->payload == "disk 90%");
    CHECK(m->sequence == 1);
    auto a = alerts.receive();
    REQUIRE(a.has_value());
    CHECK(a->kind == herald::MessageKind::pmessage);
    CHECK(a->pattern == "alerts:*");
    CHECK(a->channel == "alerts:cpu");

    std::vector<std::string> heard;
    std::thread listener([&] {
        for (auto& msg : inbox.listen()) {
            heard.push_back(msg.payload);
        }
    });
    broker.publish("system_notifications", "one");
    broker.publish("system_notifications", "two");
    while (inbox.stats().delivered < 3) {
        std::this_thread::yield();
    }
    broker.shutdown(); // ends the subscription: the listen loop returns
    listener.join();
    CHECK(heard == std::vector<std::string>{"one", "two"});
    CHECK(inbox.stats().delivered == 3);
}

TEST_CASE("mailbox: a channel name of any bytes and length reaches a queued envelope intact",
          "[queue]") {
    herald::Broker broker;
    std::vector<std::string> names{"", std::string("nul\0inside", 10), "short",
                                   std::string(1000, 'x') + "end"};
    herald::queued q;
    q.capacity = 16;
    q.executor = herald::Executor::polled();
    std::vector<herald::Mailbox<std::string>> mailboxes;
    for (const std::string& name : names) {
        mailboxes.push_back(broker.subscribe(name, q));
    }
    for (const std::string& name : names) {
        broker.publish(name, "payload of " + std::to_string(name.size()));
    }
    for (std::size_t i = 0; i < names.size(); ++i) {
        auto m = mailboxes[i].try_receive();
        REQUIRE(m);
        CHECK(m->channel == names[i]);
        CHECK(m->payload == "payload of " + std::to_string(names[i].size()));
        CHECK_FALSE(mailboxes[i].try_receive());
    }
}

TEST_CASE("mailbox: a moved-from mailbox is empty and never reaches the queue it gave away",
          "[mailbox]") {
    herald::Broker broker;
    auto original = broker.subscribe("m", herald::queued{.capacity = 4});
    broker.publish("m", "one");
    std::optional<herald::Mailbox<std::string>> moved(std::move(original));
    CHECK(moved->size() == 1);
    // The new owner ends the subscription and frees the queue.
    moved.reset();
    CHECK_FALSE(original.active());
    CHECK(original.size() == 0);
    CHECK_FALSE(original.try_receive().has_value());
    CHECK_FALSE(original.receive_for(1ms).has_value());

    SECTION("and a mailbox assigned over keeps nothing of its old queue") {
        auto target = broker.subscribe("t", herald::queued{.capacity = 4});
        broker.publish("t", "two");
        auto source = broker.subscribe("s", herald::queued{.capacity = 4});
        target = std::move(source);
        CHECK(broker.numsub("t") == 0); // the old subscription ended with the assignment
        CHECK(target.size() == 0);
        broker.publish("s", "three");
        auto got = target.try_receive();
        REQUIRE(got.has_value());
        CHECK(got->payload == "three");
        CHECK(source.size() == 0);
        CHECK_FALSE(source.try_receive().has_value());
    }
}

TEST_CASE("mailbox: the high-water mark counts what waits, what was received and what a "
          "disconnect discarded",
          "[mailbox]") {
    herald::Broker broker;
    auto mailbox = broker.subscribe("hw", herald::queued{.capacity = 8});
    for (int i = 0; i < 5; ++i) {
        broker.publish("hw", std::to_string(i));
    }
    CHECK(mailbox.stats().high_water == 5); // nothing received yet
    CHECK(mailbox.try_receive().has_value());
    CHECK(mailbox.try_receive().has_value());
    CHECK(mailbox.stats().high_water == 5); // the peak stays
    CHECK(mailbox.stats().queued == 3);

    SECTION("after a disconnect") {
        auto strict = broker.subscribe(
            "dc", herald::queued{.capacity = 3, .overflow = herald::Overflow::disconnect});
        for (int i = 0; i < 4; ++i) {
            broker.publish("dc", "x");
        }
        CHECK_FALSE(strict.active());
        const herald::SubscriptionStats st = strict.stats();
        CHECK(st.high_water == 3);
        CHECK(st.drops.disconnected == 4);
    }
}
