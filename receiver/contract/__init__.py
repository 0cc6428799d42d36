"""What a submission and a stored record are: the schemas, the one validator, the record and its identity.

`schemas` loads the JSON Schemas and the skeleton, `parsing` reads bounded
JSON, `validation` checks a submission or a stored record, `records` derives
a record's canonical bytes, id, path and branch, `inert` renders volunteer
text so it cannot act on GitHub, and `outcomes` says what became of a record
handed to a store. Pure decisions over values: no I/O beyond reading the
project's own schema files.

May import: nothing of the receiver.
"""
