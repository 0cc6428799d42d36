"""From the journal into a store: the worker, the lease that elects it, its health, and the roles of serve's processes.

`worker` drains the journal into the store in batches, paced and retried;
`lease` elects one deliverer among processes and machines; `health` judges
whether delivery is alive from what it publishes; `roles` decides which part
each process of `receiver serve` plays and keeps the deliver process running.

May import: `contract`, `journal`, `stores`.
"""
