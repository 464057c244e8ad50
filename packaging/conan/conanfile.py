"""Conan 2 recipe for herald, a header-only C++20 publish/subscribe library.

From a herald checkout:
    conan create packaging/conan --build=missing
    conan create packaging/conan --build=missing -o "herald/*:with_fmt=True"
    conan create packaging/conan --build=missing -o "herald/*:with_redis=True"

tests/package (herald.package.conan_recipe) runs this recipe's CMake options and package()
steps without Conan and builds test_package/ against the result.
"""

import os
import re

from conan import ConanFile
from conan.tools.build import check_min_cppstd
from conan.tools.cmake import CMake, CMakeToolchain, cmake_layout
from conan.tools.files import copy, load, rmdir

required_conan_version = ">=2.0"


class HeraldConan(ConanFile):
    name = "herald"
    description = ("Header-only in-process publish/subscribe for C++20: Redis-style channels "
                   "and patterns, typed topics, queued delivery")
    license = "MIT"
    homepage = "https://example.invalid/herald"
    url = "https://example.invalid/herald"
    topics = ("pubsub", "publish-subscribe", "messaging", "header-only")
    package_type = "header-library"
    # Settings are declared so the CMake install can run and validate() can check the C++
    # standard; package_id() clears them: one package serves every configuration.
    settings = "os", "arch", "compiler", "build_type"
    options = {"with_fmt": [True, False], "with_redis": [True, False]}
    default_options = {"with_fmt": False, "with_redis": False}
    no_copy_source = True

    # The CMake options of the package build. tests/package reads them from this dict, so keep
    # one option per line, written as "NAME": "VALUE".
    _cmake_options = {
        "HERALD_BUILD_TESTS": "OFF",
        "HERALD_BUILD_EXAMPLES": "OFF",
        "HERALD_BUILD_BENCH": "OFF",
        "HERALD_INSTALL": "ON",
        # Only share/cmake would differ, and package() removes it: CMakeDeps writes the
        # consumer's files from package_info(), where the fmt component is declared.
        "HERALD_WITH_FMT": "OFF",
        "HERALD_WITH_REDIS": "OFF",
    }

    @property
    def _herald_root(self):
        # The recipe lives in packaging/conan of herald's repository.
        return os.path.join(self.recipe_folder, "..", "..")

    def set_version(self):
        # The one place the version is written: include/herald/version.hpp.
        header = load(self, os.path.join(self._herald_root, "include", "herald", "version.hpp"))
        parts = [re.search(rf"#define HERALD_VERSION_{part} (\d+)", header).group(1)
                 for part in ("MAJOR", "MINOR", "PATCH")]
        self.version = ".".join(parts)

    def export_sources(self):
        for pattern in ("include/*", "cmake/*", "CMakeLists.txt", "LICENSE"):
            copy(self, pattern, self._herald_root, self.export_sources_folder)

    def layout(self):
        cmake_layout(self, src_folder=".")

    def requirements(self):
        if self.options.with_fmt:
            self.requires("fmt/[>=9]", transitive_headers=True)
        if self.options.with_redis:
            self.requires("hiredis/[>=1.0]", transitive_headers=True)
            self.requires("nlohmann_json/[>=3]", transitive_headers=True)

    def package_id(self):
        self.info.clear()

    def validate(self):
        if self.settings.compiler.get_safe("cppstd"):
            check_min_cppstd(self, 20)

    def generate(self):
        toolchain = CMakeToolchain(self)
        for name, value in self._cmake_options.items():
            toolchain.cache_variables[name] = value
        toolchain.generate()

    def build(self):
        cmake = CMake(self)
        cmake.configure()

    def package(self):
        copy(self, "LICENSE", self.source_folder, os.path.join(self.package_folder, "licenses"))
        cmake = CMake(self)
        cmake.install()
        # herald's own CMake package and herald.pc: Conan's generators write their own.
        rmdir(self, os.path.join(self.package_folder, "share"))

    def package_info(self):
        self.cpp_info.set_property("cmake_file_name", "herald")
        self.cpp_info.set_property("cmake_target_name", "herald::herald")
        self.cpp_info.set_property("pkg_config_name", "herald")
        self.cpp_info.bindirs = []
        self.cpp_info.libdirs = []

        # The headers and the thread library: what herald::herald is in herald's own package.
        core = self.cpp_info.components["core"]
        core.set_property("cmake_target_name", "herald::core")
        core.includedirs = ["include"]
        core.bindirs = []
        core.libdirs = []
        if self.settings.os in ("Linux", "FreeBSD"):
            core.system_libs = ["pthread"]

        if self.options.with_fmt:
            # herald::fmt: <herald/fmt.hpp> with fmt, as in herald's own package.
            fmt = self.cpp_info.components["fmt"]
            fmt.set_property("cmake_target_name", "herald::fmt")
            fmt.set_property("pkg_config_name", "herald-fmt")
            fmt.requires = ["core", "fmt::fmt"]
            fmt.includedirs = []
            fmt.bindirs = []
            fmt.libdirs = []

        if self.options.with_redis:
            # herald::redis and herald::redis_json: the bridge on hiredis and its JSON codec.
            redis = self.cpp_info.components["redis"]
            redis.set_property("cmake_target_name", "herald::redis")
            redis.set_property("pkg_config_name", "herald-redis")
            redis.requires = ["core", "hiredis::hiredis"]
            redis.includedirs = []
            redis.bindirs = []
            redis.libdirs = []
            redis_json = self.cpp_info.components["redis_json"]
            redis_json.set_property("cmake_target_name", "herald::redis_json")
            redis_json.set_property("pkg_config_name", "herald-redis-json")
            redis_json.requires = ["redis", "nlohmann_json::nlohmann_json"]
            redis_json.includedirs = []
            redis_json.bindirs = []
            redis_json.libdirs = []
