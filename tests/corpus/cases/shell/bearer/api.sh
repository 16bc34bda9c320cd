curl -H "Authorization: Bearer {{api:50}}" https://crates.io/api/v1/me
