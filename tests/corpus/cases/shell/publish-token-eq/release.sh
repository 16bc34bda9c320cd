#!/bin/sh
cargo publish --token={{api:45}}
