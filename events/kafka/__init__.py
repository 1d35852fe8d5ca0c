"""The Kafka shell: the only modules of novalog.events that talk to the broker.

`log` appends records and runs consume loops (with dead letters and
committed offsets), `feed` follows topics into a reader's own view, and
`window` reads a window of a topic back for the commands that read the log.
Everything they carry is the pure vocabulary of novalog.events.
"""
