"""The documentation. These Markdown files are also shipped inside the package as
`pipecli.docs`, so `pipe help TOPIC` prints them from an installed copy: one copy, two
names (like the templates)."""
