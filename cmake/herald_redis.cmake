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

# hiredis: its own CMake package where it has a target (hiredis 1.x: vcpkg, Conan, source
# installs: hiredis::hiredis), pkg-config otherwise (Debian's 0.14 package config defines no
# target). The installed herald-redis component looks for it the same way.
set(herald_hiredis_target "")
if(NOT HERALD_WITH_REDIS STREQUAL "OFF")
    if(NOT TARGET hiredis::hiredis)
        find_package(hiredis CONFIG QUIET)
    endif()
    if(TARGET hiredis::hiredis)
        set(herald_hiredis_target hiredis::hiredis)
        set(herald_hiredis_version "${hiredis_VERSION}")
    else()
        if(NOT TARGET PkgConfig::HERALD_HIREDIS)
            find_package(PkgConfig QUIET)
            if(PkgConfig_FOUND)
                pkg_check_modules(HERALD_HIREDIS QUIET IMPORTED_TARGET hiredis)
            endif()
        endif()
        if(TARGET PkgConfig::HERALD_HIREDIS)
            set(herald_hiredis_target PkgConfig::HERALD_HIREDIS)
            set(herald_hiredis_version "${HERALD_HIREDIS_VERSION}")
        endif()
    endif()
    if(NOT herald_hiredis_target AND HERALD_WITH_REDIS STREQUAL "ON")
        message(FATAL_ERROR "HERALD_WITH_REDIS=ON but hiredis was found neither as a CMake "
                            "package with target hiredis::hiredis nor by pkg-config (Debian "
                            "packages libhiredis-dev and pkg-config)")
    endif()
endif()

if(herald_hiredis_target)
    add_library(herald_redis INTERFACE)
    add_library(herald::redis ALIAS herald_redis)
    set_target_properties(herald_redis PROPERTIES EXPORT_NAME redis)
    target_link_libraries(herald_redis INTERFACE herald::herald ${herald_hiredis_target})
    message(STATUS "herald: herald::redis provided (hiredis ${herald_hiredis_version} "
                   "via ${herald_hiredis_target})")

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

# herald_redis_install_components(): called by herald_install.cmake. Exports herald::redis and
# herald::redis_json as package components (find_package(herald COMPONENTS redis redis_json))
# whose files find hiredis and nlohmann_json the way this build found them.
function(herald_redis_install_components)
    if(NOT TARGET herald_redis)
        return()
    endif()
    if(herald_hiredis_target STREQUAL "hiredis::hiredis")
        set(find_hiredis "find_package(hiredis CONFIG QUIET)")
    else()
        set(find_hiredis "find_package(PkgConfig QUIET)
    if(PkgConfig_FOUND)
        pkg_check_modules(HERALD_HIREDIS QUIET IMPORTED_TARGET hiredis)
    endif()")
    endif()
    set(components redis)
    if(TARGET herald_redis_json)
        list(APPEND components redis_json)
    endif()
    foreach(name IN LISTS components)
        install(TARGETS herald_${name} EXPORT herald-${name}-targets)
        install(EXPORT herald-${name}-targets
            NAMESPACE herald::
            FILE herald-${name}-targets.cmake
            DESTINATION "${HERALD_INSTALL_CMAKEDIR}")
        export(EXPORT herald-${name}-targets
            NAMESPACE herald::
            FILE "${PROJECT_BINARY_DIR}/herald-${name}-targets.cmake")
        install(FILES "${PROJECT_BINARY_DIR}/herald-${name}-component.cmake"
            DESTINATION "${HERALD_INSTALL_CMAKEDIR}")
    endforeach()
    file(CONFIGURE OUTPUT "${PROJECT_BINARY_DIR}/herald-redis-component.cmake"
        @ONLY CONTENT [=[
# herald component 'redis' (included by heraldConfig.cmake when it is asked for).
if(NOT TARGET @herald_hiredis_target@)
    @find_hiredis@
endif()
if(NOT TARGET @herald_hiredis_target@)
    set(herald_redis_FOUND FALSE)
    set(_herald_component_reason "needs hiredis (@herald_hiredis_target@), which was not found")
    return()
endif()
if(NOT TARGET herald::redis)
    include("${CMAKE_CURRENT_LIST_DIR}/herald-redis-targets.cmake")
endif()
set(herald_redis_FOUND TRUE)
]=])
    if(TARGET herald_redis_json)
        file(CONFIGURE OUTPUT "${PROJECT_BINARY_DIR}/herald-redis_json-component.cmake"
            @ONLY CONTENT [=[
# herald component 'redis_json' (included by heraldConfig.cmake when it is asked for).
include("${CMAKE_CURRENT_LIST_DIR}/herald-redis-component.cmake")
if(NOT herald_redis_FOUND)
    set(herald_redis_json_FOUND FALSE)
    return()
endif()
if(NOT TARGET nlohmann_json::nlohmann_json)
    find_package(nlohmann_json 3 QUIET CONFIG)
endif()
if(NOT TARGET nlohmann_json::nlohmann_json)
    set(herald_redis_json_FOUND FALSE)
    set(_herald_component_reason "needs nlohmann_json 3 or newer, which was not found")
    return()
endif()
include("${CMAKE_CURRENT_LIST_DIR}/herald-redis_json-targets.cmake")
set(herald_redis_json_FOUND TRUE)
]=])
    endif()
endfunction()
