# Thin wrapper over CMake for the commands the README names.
#   make demo    set up, build (Release) and run `tabledata demo`
#   make check   set up, build and run the whole test suite (ctest)
#   make bench   set up, build (Release) and run the benchmarks
#   make install install library, headers, pkg-config and CMake package files,
#                the program, the documents and the man page (PREFIX=/usr/local)
#   make uninstall  remove what the last `make install` installed
JOBS ?= $(shell nproc)
PREFIX ?= /usr/local
FUZZ_SECONDS ?= 20
RELEASE := build/release
CHECK := build/check

.PHONY: all deps demo check bench install uninstall clean asan tsan valgrind fuzz-smoke

all: deps
	cmake -S . -B $(RELEASE) -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(RELEASE) -j $(JOBS)

deps:
	@./scripts/setup-deps.sh

demo: all
	$(RELEASE)/cli/tabledata demo

check: deps
	cmake -S . -B $(CHECK) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(CHECK) -j $(JOBS)
	cd $(CHECK) && ctest --output-on-failure -j $(JOBS) -LE valgrind

asan: deps
	cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DTD_SANITIZE=address,undefined -DTD_BUILD_BENCH=OFF >/dev/null
	cmake --build build/asan -j $(JOBS)
	cd build/asan && ctest --output-on-failure -j $(JOBS)

tsan: deps
	cmake -S . -B build/tsan -DCMAKE_BUILD_TYPE=Debug -DTD_SANITIZE=thread -DTD_BUILD_BENCH=OFF >/dev/null
	cmake --build build/tsan -j $(JOBS)
	cd build/tsan && ctest --output-on-failure -j $(JOBS) -L threads

valgrind: deps
	cmake -S . -B build/valgrind -DCMAKE_BUILD_TYPE=Debug -DTD_VALGRIND=ON -DTD_BUILD_BENCH=OFF >/dev/null
	cmake --build build/valgrind -j $(JOBS)
	cd build/valgrind && ctest --output-on-failure -j $(JOBS) -L valgrind

fuzz-smoke: deps
	./scripts/fuzz-smoke.sh $(FUZZ_SECONDS)

bench: all
	./bench/run.sh $(RELEASE)

install: all
	cmake --install $(RELEASE) --prefix $(PREFIX)

uninstall:
	cmake -DTD_MANIFEST=$(RELEASE)/install_manifest.txt -P cmake/uninstall.cmake

clean:
	rm -rf build
