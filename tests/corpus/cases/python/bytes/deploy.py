token = b"{{api:74}}"
