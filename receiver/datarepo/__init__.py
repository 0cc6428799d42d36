"""The data repository's side: what it holds, the checks its workflows run, the gate that merges, moderation.

`layout` knows the workflows and schemas a data repository holds and writes
them (`receiver init`); `checking` checks files as `receiver validate` and CI
do; `actions` reads the Actions context and writes workflow commands; `gate`
judges a pull request and `automerge` acts on that judgement; `moderation`
approves or rejects pull requests under review; `doctor` says what a
GitHub repository lacks.

May import: `contract`, `stores`, `consensus`.
"""
