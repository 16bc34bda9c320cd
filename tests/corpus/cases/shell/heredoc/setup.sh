cat > ~/.cargo/credentials.toml <<EOF
[registry]
token = "{{api:48}}"
EOF
