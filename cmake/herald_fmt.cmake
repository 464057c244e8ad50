# Optional target herald::fmt: the fmt formatters of <herald/fmt.hpp> (the header itself is
# part of herald::herald's header set) plus the link to fmt::fmt. It is a component of the
# installed package: find_package(herald COMPONENTS fmt).
#
# HERALD_WITH_FMT: AUTO (default) provides herald::fmt when fmt 9 or newer is found; ON
# requires fmt; OFF never looks for it. Packagers pass ON or OFF so builds are reproducible.
# A parent project that already defines fmt::fmt (add_subdirectory, FetchContent) is used as is.
set(HERALD_WITH_FMT AUTO CACHE STRING "Provide the herald::fmt target: AUTO, ON or OFF")
set_property(CACHE HERALD_WITH_FMT PROPERTY STRINGS AUTO ON OFF)

if(NOT HERALD_WITH_FMT MATCHES "^(AUTO|ON|OFF)$")
    message(FATAL_ERROR "HERALD_WITH_FMT must be AUTO, ON or OFF, not '${HERALD_WITH_FMT}'")
endif()

if(NOT HERALD_WITH_FMT STREQUAL "OFF" AND NOT TARGET fmt::fmt)
    if(HERALD_WITH_FMT STREQUAL "ON")
        find_package(fmt 9 REQUIRED)
    else()
        find_package(fmt 9 QUIET)
    endif()
endif()

if(NOT HERALD_WITH_FMT STREQUAL "OFF" AND TARGET fmt::fmt)
    add_library(herald_fmt INTERFACE)
    add_library(herald::fmt ALIAS herald_fmt)
    set_target_properties(herald_fmt PROPERTIES EXPORT_NAME fmt)
    target_link_libraries(herald_fmt INTERFACE herald::herald fmt::fmt)
    message(STATUS "herald: herald::fmt provided (fmt ${fmt_VERSION})")
endif()
