        .env("CARGO_REGISTRIES_ALTERNATIVE_TOKEN", "incorrect")
