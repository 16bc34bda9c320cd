cargo publish --token {{api:129}}then
