"""Builds the tabledata extension module against the in-tree C library.

The C library is built as a static archive by CMake (position-independent,
Release) under python/build/cmake, unless TABLEDATA_BUILD_DIR names a CMake
build directory that already holds libtabledata.a (make check passes its own).
TABLEDATA_SOURCE_DIR overrides where the library sources are (default: the
parent of this directory, as in a clone).
"""
import os
import subprocess
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
SOURCE = Path(os.environ.get("TABLEDATA_SOURCE_DIR", HERE.parent)).resolve()
LIBS = ["zstd", "lz4", "brotlidec", "z", "snappy", "pcre2-8", "m", "pthread", "stdc++"]


def static_library() -> Path:
    given = os.environ.get("TABLEDATA_BUILD_DIR")
    if given:
        lib = Path(given).resolve() / "libtabledata.a"
        if not lib.exists():
            raise RuntimeError(f"TABLEDATA_BUILD_DIR={given} holds no libtabledata.a")
        return lib
    if not (SOURCE / "include" / "tabledata" / "table.h").exists():
        raise RuntimeError(f"no tabledata sources at {SOURCE}; set TABLEDATA_SOURCE_DIR")
    build = HERE / "build" / "cmake"
    subprocess.check_call(["cmake", "-S", str(SOURCE), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                           "-DTD_BUILD_TESTS=OFF", "-DTD_BUILD_BENCH=OFF", "-DTD_WERROR=OFF"])
    subprocess.check_call(["cmake", "--build", str(build), "--target", "tabledata_static", "-j",
                           os.environ.get("TABLEDATA_JOBS", "2")])
    return build / "libtabledata.a"


class BuildWithLibrary(build_ext):
    def run(self):
        lib = static_library()
        # A library built with the PostgreSQL backend (TD_WITH_POSTGRES) or the
        # Kafka backend (TD_WITH_KAFKA) opens libpq / librdkafka with dlopen when
        # a source of theirs is first opened: it needs the loader (and jansson).
        members = subprocess.check_output(["ar", "t", str(lib)], text=True)
        postgres = "pg_backend.c.o" in members
        kafka = "kafka_backend.c.o" in members
        for ext in self.extensions:
            ext.extra_objects = [str(lib)]
            # setuptools relinks only when a source or a dependency is newer than the
            # built module: a rebuilt library must count, or the module stays stale.
            ext.depends = ext.depends + [str(lib)]
            if postgres:
                ext.libraries = ext.libraries + ["dl"]
                ext.define_macros = ext.define_macros + [("TD_HAVE_POSTGRES", "1")]
            if kafka:
                ext.libraries = ext.libraries + ["dl", "jansson"]
                ext.define_macros = ext.define_macros + [("TD_HAVE_KAFKA", "1")]
        super().run()


setup(
    ext_modules=[
        Extension(
            "tabledata._tabledata",
            sources=["src/module.c", "src/table.c"],
            include_dirs=[str(SOURCE / "include")],
            libraries=LIBS,
            extra_compile_args=["-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Wno-unused-parameter",
                                "-Wno-missing-field-initializers", "-Wno-cast-function-type"],
            depends=["src/ext.h"],
        )
    ],
    cmdclass={"build_ext": BuildWithLibrary},
)
