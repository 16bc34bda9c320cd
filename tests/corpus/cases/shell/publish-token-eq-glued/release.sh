cargo publish --token={{tp:130}}x
