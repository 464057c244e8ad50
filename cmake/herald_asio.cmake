# Optional target herald::asio: the asio adapter of <herald/asio.hpp> (the header itself is
# part of herald::herald's header set) plus the link to standalone asio (asio::asio, found by
# cmake/Findasio.cmake). It is a component of the installed package:
# find_package(herald COMPONENTS asio).
#
# HERALD_WITH_ASIO: AUTO (default) provides herald::asio when asio 1.18 or newer is found; ON
# requires it; OFF never looks for it. A parent project that already defines asio::asio is
# used as is.
set(HERALD_WITH_ASIO AUTO CACHE STRING "Provide the herald::asio target: AUTO, ON or OFF")
set_property(CACHE HERALD_WITH_ASIO PROPERTY STRINGS AUTO ON OFF)

if(NOT HERALD_WITH_ASIO MATCHES "^(AUTO|ON|OFF)$")
    message(FATAL_ERROR "HERALD_WITH_ASIO must be AUTO, ON or OFF, not '${HERALD_WITH_ASIO}'")
endif()

if(NOT HERALD_WITH_ASIO STREQUAL "OFF" AND NOT TARGET asio::asio)
    list(PREPEND CMAKE_MODULE_PATH "${CMAKE_CURRENT_LIST_DIR}")
    if(HERALD_WITH_ASIO STREQUAL "ON")
        find_package(asio 1.18 REQUIRED)
    else()
        find_package(asio 1.18 QUIET)
    endif()
    list(REMOVE_AT CMAKE_MODULE_PATH 0)
endif()

if(NOT HERALD_WITH_ASIO STREQUAL "OFF" AND TARGET asio::asio)
    add_library(herald_asio INTERFACE)
    add_library(herald::asio ALIAS herald_asio)
    set_target_properties(herald_asio PROPERTIES EXPORT_NAME asio)
    target_link_libraries(herald_asio INTERFACE herald::herald asio::asio)
    message(STATUS "herald: herald::asio provided (asio ${asio_VERSION})")
endif()
