CARGO_REGISTRY_TOKEN="${TOKEN:?missing}" cargo publish
