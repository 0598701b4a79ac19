"""The Flink SQL job that turns `clickstream` into 5-minute sliding features per (geo, platform).

The hot path is Flink SQL running in the JVM (no Python UDF touches a record): Python only builds
the statements (`ddl`, `queries`), submits them to the stack's session cluster (`submit`,
`rest`) and shows the results (`tail`). `job` is the program `flink run -pym` executes.
"""
