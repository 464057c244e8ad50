# Optional targets of the Redis/Valkey bridge (the headers are part of herald::herald's header
# set; these targets add the third-party libraries):
#   herald::redis       <herald/redis.hpp>, links hiredis (found with pkg-config: Debian's
#                       hiredis CMake config defines no imported target)
#   herald::redis_json  <herald/redis_json.hpp>, adds nlohmann/json
#
# HERALD_WITH_REDIS: AUTO (default) provides them when hiredis is found; ON requires hiredis;
# OFF never looks. The core never needs either library.
set(HERALD_WITH_REDIS AUTO CACHE STRING "Provide the herald::redis target: AUTO, ON or OFF")
set_property(CACHE HERALD_WITH_REDIS PROPERTY STRINGS AUTO ON OFF)

if(NOT HERALD_WITH_REDIS MATCHES "^(AUTO|ON|OFF)$")
    message(FATAL_ERROR "HERALD_WITH_REDIS must be AUTO, ON or OFF, not '${HERALD_WITH_REDIS}'")
endif()

if(NOT HERALD_WITH_REDIS STREQUAL "OFF")
    if(NOT TARGET PkgConfig::HERALD_HIREDIS)
        find_package(PkgConfig QUIET)
        if(PkgConfig_FOUND)
            pkg_check_modules(HERALD_HIREDIS QUIET IMPORTED_TARGET hiredis)
        endif()
    endif()
    if(NOT TARGET PkgConfig::HERALD_HIREDIS AND HERALD_WITH_REDIS STREQUAL "ON")
        message(FATAL_ERROR "HERALD_WITH_REDIS=ON but hiredis was not found by pkg-config "
                            "(Debian package libhiredis-dev, and pkg-config)")
    endif()
endif()

if(TARGET PkgConfig::HERALD_HIREDIS)
    add_library(herald_redis INTERFACE)
    add_library(herald::redis ALIAS herald_redis)
    set_target_properties(herald_redis PROPERTIES EXPORT_NAME redis)
    target_link_libraries(herald_redis INTERFACE herald::herald PkgConfig::HERALD_HIREDIS)
    message(STATUS "herald: herald::redis provided (hiredis ${HERALD_HIREDIS_VERSION})")

    if(NOT TARGET nlohmann_json::nlohmann_json)
        find_package(nlohmann_json 3 QUIET CONFIG)
    endif()
    if(TARGET nlohmann_json::nlohmann_json)
        add_library(herald_redis_json INTERFACE)
        add_library(herald::redis_json ALIAS herald_redis_json)
        set_target_properties(herald_redis_json PROPERTIES EXPORT_NAME redis_json)
        target_link_libraries(herald_redis_json INTERFACE herald::redis
                                                          nlohmann_json::nlohmann_json)
        message(STATUS "herald: herald::redis_json provided (nlohmann_json ${nlohmann_json_VERSION})")
    endif()
elseif(NOT HERALD_WITH_REDIS STREQUAL "OFF")
    message(STATUS "herald: hiredis not found; herald::redis not provided")
endif()
