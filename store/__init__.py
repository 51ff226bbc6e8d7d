"""The store: every line of SQL (`db`), the schema's `migrations`, the typed `records` it returns, and the
`layout` of a video's files on disk. Only `operations` (and the step service) call it; routes and tasks go
through an operation."""
