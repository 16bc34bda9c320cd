        .env("CARGO_REGISTRIES_ALTERNATIVE_TOKEN", "Bearer incorrect")
