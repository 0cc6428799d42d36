"""The HTTP surface: the app factory, the state it builds, the endpoints, the pages, metrics and OpenAPI.

`app` builds the Starlette app from settings and `state` holds the `Receiver`
its endpoints share; `submissions` admits labels, `sessions` issues volunteer
sessions, `frame_api` answers the volunteer loop, `labeling` serves the page,
`dashboard`, `metrics` and `openapi` describe the receiver, `responses` shapes
every JSON answer; `headers`, `forwarded` and `connections` are the middleware
for security headers, forwarded addresses and the cap of open requests per client.

May import: `contract`, `consensus`, `export`, `journal`, `access`, `stores`, `delivery`, `volunteers`, `datarepo`,
`media`, and `settings` (the app is built from them). Nothing imports `web`, except the command line.
"""
