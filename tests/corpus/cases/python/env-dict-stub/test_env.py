                "CARGO_REGISTRIES_CRATES_IO_TOKEN": "fixture-only",
