#pragma once
/// \file
/// Forward declarations of herald's public types, for headers that only name them.

#include <herald/version.hpp>

#include <cstdint>
#include <string>

HERALD_NAMESPACE_BEGIN

struct thread_safe;
struct single_threaded;
template <class Payload = std::string, class Policy = thread_safe>
class Broker;
template <class T>
class Topic;
template <class T>
struct Message;
template <class T>
class Envelope;
template <class T>
class Mailbox;
template <class T, class Policy = thread_safe>
class Publisher;
struct QueueOptions;
class Executor;
class ManualExecutor;
enum class MessageKind : unsigned char;
class Subscription;
class SubscriptionGroup;
struct SubscriptionStats;
struct BrokerStats;
struct BrokerOptions;
struct ErrorInfo;
struct DeadLetter;
class Pattern;
enum class Overflow : std::uint8_t;
enum class ShutdownMode : std::uint8_t;
enum class ErrorKind : std::uint8_t;
enum class ExceptionPolicy : std::uint8_t;

HERALD_NAMESPACE_END
