"""The pages people use: a web front that owns no data and acts through the services' APIs."""
