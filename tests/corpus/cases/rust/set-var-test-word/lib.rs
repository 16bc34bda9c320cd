            std::env::set_var("CARGO_REGISTRY_TOKEN", "test-cargo-token");
