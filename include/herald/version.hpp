#pragma once

/// \file
/// herald's version, parsed by CMake and the package recipes from this file, and the versioned
/// namespace. Macros only: usable in `#if` and from any thread.

/// herald's major version: incompatible API changes.
#define HERALD_VERSION_MAJOR 0
/// herald's minor version: additions.
#define HERALD_VERSION_MINOR 1
/// herald's patch version: fixes.
#define HERALD_VERSION_PATCH 0
/// The version as one number: major * 10000 + minor * 100 + patch.
#define HERALD_VERSION                                                                             \
    (HERALD_VERSION_MAJOR * 10000 + HERALD_VERSION_MINOR * 100 + HERALD_VERSION_PATCH)

/// Opens herald's versioned inline namespace; every public entity lives inside it, so two
/// incompatible versions of herald in one program fail to link instead of silently mixing.
#define HERALD_NAMESPACE_BEGIN                                                                     \
    namespace herald {                                                                             \
    inline namespace v0 {
/// Closes what `HERALD_NAMESPACE_BEGIN` opened.
#define HERALD_NAMESPACE_END                                                                       \
    }                                                                                              \
    }
