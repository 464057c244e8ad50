// Unit tests of <herald/version.hpp>: the version macros agree with each other and with the
// version CMake read from this header, and the versioned namespace is the one they name.
#include <herald/version.hpp>

#include "test_catch.hpp"

#include <string>
#include <type_traits>

HERALD_NAMESPACE_BEGIN
struct VersionProbe {};
HERALD_NAMESPACE_END

TEST_CASE("version: HERALD_VERSION encodes major, minor and patch without ambiguity", "[version]") {
    static_assert(HERALD_VERSION ==
                  HERALD_VERSION_MAJOR * 10000 + HERALD_VERSION_MINOR * 100 + HERALD_VERSION_PATCH);
    static_assert(HERALD_VERSION_MINOR < 100 && HERALD_VERSION_PATCH < 100);
    CHECK(HERALD_VERSION / 10000 == HERALD_VERSION_MAJOR);
    CHECK(HERALD_VERSION / 100 % 100 == HERALD_VERSION_MINOR);
    CHECK(HERALD_VERSION % 100 == HERALD_VERSION_PATCH);
}

#if defined(HERALD_TEST_PROJECT_VERSION)
TEST_CASE("version: the macros spell the version of the CMake project", "[version]") {
    const std::string from_macros = std::to_string(HERALD_VERSION_MAJOR) + "." +
                                    std::to_string(HERALD_VERSION_MINOR) + "." +
                                    std::to_string(HERALD_VERSION_PATCH);
    CHECK(from_macros == HERALD_TEST_PROJECT_VERSION);
}
#endif

TEST_CASE("version: HERALD_NAMESPACE_BEGIN opens an inline namespace inside herald", "[version]") {
    static_assert(HERALD_VERSION_MAJOR == 0, "a new major version renames the inline namespace: "
                                             "update the check below with it");
    static_assert(std::is_same_v<herald::VersionProbe, herald::v0::VersionProbe>);
    SUCCEED();
}
