"""Puts a benchmark's section into bench/RESULTS.md, between its markers.

    python3 bench/write_section.py NAME SECTION

SECTION starts with "<!-- NAME: begin -->" and ends with
"<!-- NAME: end -->"; it replaces what was between them, or is appended.
"""
import re
import sys

name, section = sys.argv[1], sys.argv[2]
path = "bench/RESULTS.md"
text = open(path).read()
pattern = re.compile(
    r"<!-- %s: begin -->.*?<!-- %s: end -->" % (re.escape(name), re.escape(name)), re.S
)
if pattern.search(text):
    text = pattern.sub(lambda m: section, text)
else:
    text = text.rstrip("\n") + "\n\n" + section + "\n"
open(path, "w").write(text)
