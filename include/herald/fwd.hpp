#pragma once
/// \file
/// Forward declarations of herald's public types, for headers that only name them.

#include <herald/version.hpp>

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
enum class MessageKind : unsigned char;
class Subscription;
class SubscriptionGroup;
struct SubscriptionStats;
struct BrokerStats;
struct BrokerOptions;
struct ErrorInfo;
struct DeadLetter;
class Pattern;

HERALD_NAMESPACE_END
