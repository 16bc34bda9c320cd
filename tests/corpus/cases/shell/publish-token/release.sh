#!/bin/sh
cargo publish --token {{api:44}}
