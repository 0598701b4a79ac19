-- Services log in as roles without CREATE on the schema (streaming/db/roles.py). The db sink
-- still needs each day's partition: the function creates it with its owner's rights, and only
-- roles granted EXECUTE may call it (not PUBLIC, the default for functions).
ALTER FUNCTION ensure_clickstream_partition(date) SECURITY DEFINER;
REVOKE EXECUTE ON FUNCTION ensure_clickstream_partition(date) FROM PUBLIC;
