# Set CARGO_REGISTRY_TOKEN in your CI secrets before running.
echo "$CARGO_REGISTRY_TOKEN" | cargo login
