let token = std::env::var("CARGO_REGISTRY_TOKEN")?;
