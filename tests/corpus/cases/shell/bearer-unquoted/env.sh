export CARGO_REGISTRIES_ARTIFACTORY_TOKEN={{lit:Bearer {{alnum:127:40}}}}
