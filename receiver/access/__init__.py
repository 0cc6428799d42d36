"""Who may submit, and how often: tokens, their revocations, and the per-client rate limits.

`tokens` reads the tokens file and matches a presented token, `revocations`
keeps what was revoked, `ratelimit` decides a client's key and its limit,
`limitstate` keeps the limits' counts shared by every process of one
receiver (SQLite), and `postgres` keeps the same counts and revocations for
receivers on several machines.

May import: `contract`, `journal` (the limits live beside the journal and open their file as it does).
"""
