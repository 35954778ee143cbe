"""The pipeline templates, shipped inside the package as pipecli.templates."""
