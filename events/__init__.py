"""Step and video events: written to a bounded Redis stream by any process (`stream`) and fanned out to every
open Server-Sent Events client by one reader per web process (`hub`)."""
