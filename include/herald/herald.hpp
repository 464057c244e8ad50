#pragma once
/// \file
/// The umbrella header: everything herald offers that needs only the standard library.

#include <herald/broker.hpp>
#include <herald/errors.hpp>
#include <herald/fwd.hpp>
#include <herald/message.hpp>
#include <herald/pattern.hpp>
#include <herald/stats.hpp>
#include <herald/subscription.hpp>
#include <herald/topic.hpp>
#include <herald/version.hpp>
