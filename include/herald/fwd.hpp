#pragma once
/// \file
/// Forward declarations of herald's public types, for headers that only name them. Each type's
/// contract (what it is, **Thread-safety:**, **Lifetime:**) is at its definition, in the header
/// named beside its declaration; the default template arguments are given here only.

#include <herald/version.hpp>

#include <cstdint>
#include <string>

HERALD_NAMESPACE_BEGIN

struct thread_safe;     // options.hpp
struct single_threaded; // options.hpp
template <class Payload = std::string, class Policy = thread_safe>
class Broker; // broker.hpp
template <class T>
class Topic; // topic.hpp
template <class T>
struct Message; // message.hpp
template <class T>
class Envelope; // mailbox.hpp
template <class T>
class Mailbox; // mailbox.hpp
template <class T, class Policy = thread_safe>
class Publisher; // publisher.hpp
template <class Payload = std::string, class Policy = thread_safe>
class Scope;                               // scope.hpp
struct QueueOptions;                       // queue.hpp
class Executor;                            // executor.hpp
class ManualExecutor;                      // executor.hpp
enum class MessageKind : unsigned char;    // message.hpp
class Subscription;                        // subscription.hpp
class SubscriptionGroup;                   // subscription_group.hpp
struct SubscriptionStats;                  // stats.hpp
struct BrokerStats;                        // stats.hpp
struct BrokerOptions;                      // options.hpp
struct ErrorInfo;                          // errors.hpp
struct DeadLetter;                         // options.hpp
class Pattern;                             // pattern.hpp
enum class Overflow : std::uint8_t;        // queue.hpp
enum class ShutdownMode : std::uint8_t;    // options.hpp
enum class ErrorKind : std::uint8_t;       // errors.hpp
enum class ExceptionPolicy : std::uint8_t; // errors.hpp

HERALD_NAMESPACE_END
