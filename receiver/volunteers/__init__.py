"""The volunteer loop: the videos and their frames, which frame next, which frames are retired, and the page.

`sessions` issues and checks volunteer sessions and lease tickets, `videos`
reads the videos file, `frames` keeps the frame tally (the ledger
that hands out frames; `postgres` is its PostgreSQL twin), `retirement`
decides when a frame has enough agreeing labels, and `page/` holds the
labeling page's static files.

May import: `contract`, `journal`, `consensus`, `access`, `media`.
"""

from pathlib import Path

#: The labeling page's static files, served at /label and built by `receiver page build`.
PAGE_DIR = Path(__file__).resolve().parent / "page"
