#pragma once
/// \file
/// The umbrella header: everything herald offers that needs only the standard library.

#include <herald/broker.hpp>
#include <herald/coroutine.hpp>
#include <herald/errors.hpp>
#include <herald/executor.hpp>
#include <herald/fwd.hpp>
#include <herald/handler.hpp>
#include <herald/mailbox.hpp>
#include <herald/message.hpp>
#include <herald/options.hpp>
#include <herald/pattern.hpp>
#include <herald/publisher.hpp>
#include <herald/queue.hpp>
#include <herald/scope.hpp>
#include <herald/stats.hpp>
#include <herald/subscribe_options.hpp>
#include <herald/subscription.hpp>
#include <herald/subscription_group.hpp>
#include <herald/topic.hpp>
#include <herald/version.hpp>
