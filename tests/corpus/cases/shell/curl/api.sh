curl -H "Authorization: {{api:49}}" https://crates.io/api/v1/me
