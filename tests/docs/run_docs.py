"""Runs what the documents show, so they cannot drift from the program.

Extracted from README.md and docs/*.md (in that order, in one scratch
directory, so later documents can use the data earlier ones made):

- every ```sh block is run with bash (set -euo pipefail) and must exit 0
  within a timeout, and print something when it is not redirected;
- every ```c block is compiled with -Wall -Wextra -Werror against the
  library: a block with main() is a complete program, linked and run (it
  must exit 0); any other block is a fragment, compiled as the body of a
  function (statements), or at file scope when preceded by the marker
  line <!-- docs-test: c-file -->.  Fragments get <tabledata.h>, <stdio.h>,
  <stdlib.h> and <string.h> included.
- a block preceded by <!-- docs-test: skip (reason) --> is not run;
  a ```c block preceded by <!-- docs-test: same-as PATH --> must also equal
  the file PATH (after that file's leading comment).

Every example shown by `tabledata <command> --help` (lines "  tabledata ..."
after "Example" and lines "  SELECT ..." in query's and follow's help) is
run the same way.

Commands run with the built program first on PATH, in a scratch directory
where build/release/cli/tabledata also names it, and with /tmp/ticks
(the sample dataset the documents generate) mapped to a scratch copy.

usage: run_docs.py SOURCE_DIR TABLEDATA LIBTABLEDATA_A
"""
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

SRC = pathlib.Path(sys.argv[1]).resolve()
PROG = pathlib.Path(sys.argv[2]).resolve()
LIB = pathlib.Path(sys.argv[3]).resolve()
CC = os.environ.get("CC", "cc")
TIMEOUT = 120
LIBS = ["-lzstd", "-llz4", "-lbrotlidec", "-lz", "-lsnappy", "-lpcre2-8", "-lm", "-lpthread", "-lstdc++"]
MARKER = re.compile(r"<!--\s*docs-test:\s*(\S+)\s*(.*?)\s*-->")

failures = []
counts = {"sh": 0, "c": 0, "help": 0}


def blocks(path):
    """Yields (language, first line number, text, marker, marker argument)."""
    lines = path.read_text().splitlines()
    i, marker, arg = 0, None, ""
    while i < len(lines):
        m = MARKER.search(lines[i])
        if m:
            marker, arg = m.group(1), m.group(2)
            i += 1
            continue
        fence = re.match(r"^```(\w*)\s*$", lines[i])
        if fence:
            lang, start, body = fence.group(1), i + 1, []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            yield lang, start + 1, "\n".join(body) + "\n", marker, arg
            marker, arg = None, ""
        elif lines[i].strip():
            marker, arg = None, ""
        i += 1


def run_sh(where, text, work, env):
    counts["sh"] += 1
    script = "set -euo pipefail\n" + text.replace("/tmp/ticks", str(work / "ticks"))
    try:
        p = subprocess.run(["bash", "-c", script], cwd=work, env=env, capture_output=True, text=True,
                           timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        failures.append(f"{where}: did not finish within {TIMEOUT} s:\n{text}")
        return
    if p.returncode != 0:
        failures.append(f"{where}: exit status {p.returncode}:\n{text}--- stderr:\n{p.stderr[-3000:]}")
    elif ">" not in text and not p.stdout.strip():
        failures.append(f"{where}: printed nothing:\n{text}")
    else:
        print(f"ok   {where}")


def compile_c(where, text, marker, work):
    counts["c"] += 1
    name = re.sub(r"\W", "_", where)
    src = work / f"{name}.c"
    head = "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include <tabledata.h>\n"
    program = re.search(r"\bint\s+main\s*\(", text) is not None
    flags = ["-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter",
             f"-I{SRC / 'include'}"]
    if program:
        src.write_text(text)
    elif marker == "c-file":
        src.write_text(head + text)
        flags += ["-Wno-unused-function", "-Wno-unused-variable"]
    else:
        src.write_text(head + "void td_doc_fragment(void);\nvoid td_doc_fragment(void) {\n" + text + "}\n")
        flags += ["-Wno-unused-variable", "-Wno-unused-but-set-variable"]
    out = work / name
    cmd = [CC, *flags, str(src)] + (["-o", str(out), str(LIB), *LIBS] if program else ["-c", "-o", f"{out}.o"])
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        failures.append(f"{where}: does not compile:\n{p.stderr[-3000:]}")
        return
    if program:
        try:
            r = subprocess.run([str(out)], cwd=work, capture_output=True, text=True, timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            failures.append(f"{where}: the program did not finish within {TIMEOUT} s")
            return
        if r.returncode != 0:
            failures.append(f"{where}: the program exited with {r.returncode}:\n{r.stderr[-2000:]}")
            return
    print(f"ok   {where} ({'compiled and ran' if program else 'compiled'})")


def same_as(where, text, rel):
    file_text = (SRC / rel).read_text()
    file_text = re.sub(r"\A/\*.*?\*/\n", "", file_text, flags=re.S)
    if file_text.strip() != text.strip():
        failures.append(f"{where}: differs from {rel} (copy the file into the document again)")


def help_examples(work, env):
    listing = subprocess.run([str(PROG), "--help"], capture_output=True, text=True, check=True).stdout
    commands = re.findall(r"^  (\S+)\s+\S", listing.split("commands:", 1)[1], re.M)
    commands.sort(key=lambda c: c != "gen-sample")  # its examples make the data the others read
    for cmd in commands:
        text = subprocess.run([str(PROG), cmd, "--help"], capture_output=True, text=True, check=True).stdout
        for line in text.splitlines():
            m = re.match(r"^\s+(tabledata \S.*)$", line)
            s = re.match(r"^\s+(SELECT .*)$", line)
            if m:
                counts["help"] += 1
                run_sh(f"tabledata {cmd} --help: {m.group(1)}", m.group(1) + "\n", work, env)
            elif s and cmd in ("query", "follow"):
                counts["help"] += 1
                sql = s.group(1).replace("/tmp/ticks", str(work / "ticks"))
                argv = [str(PROG), cmd] + (["--duration", "1"] if cmd == "follow" else []) + [sql]
                p = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=TIMEOUT)
                if p.returncode != 0 or not p.stdout.strip():
                    failures.append(f"tabledata {cmd} --help: {sql}: exit {p.returncode}\n{p.stderr[-2000:]}")
                else:
                    print(f"ok   tabledata {cmd} --help: {sql}")


def main():
    work = pathlib.Path(tempfile.mkdtemp(prefix="td_docs_"))
    try:
        bindir = work / "bin"
        bindir.mkdir()
        (bindir / "tabledata").symlink_to(PROG)
        (work / "build/release/cli").mkdir(parents=True)
        (work / "build/release/cli/tabledata").symlink_to(PROG)
        env = dict(os.environ, PATH=f"{bindir}:{os.environ.get('PATH', '')}")
        docs = [SRC / "README.md"] + sorted((SRC / "docs").glob("*.md"))
        for doc in docs:
            for lang, line, text, marker, arg in blocks(doc):
                where = f"{doc.relative_to(SRC)}:{line}"
                if marker == "skip":
                    print(f"skip {where} {arg}")
                    continue
                if lang == "sh":
                    run_sh(where, text, work, env)
                elif lang == "c":
                    if marker == "same-as":
                        same_as(where, text, arg)
                    compile_c(where, text, marker, work)
        help_examples(work, env)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for f in failures:
        print(f"FAIL {f}\n")
    print(f"docs: {counts['sh']} shell blocks, {counts['c']} C snippets, {counts['help']} --help examples; "
          f"{len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
