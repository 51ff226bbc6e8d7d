"""The application core: everything that is neither HTTP (routes/) nor a task body (tasks/).

The store (`db`, all SQL) and its `migrations`; the step registry and step service (`steps`); the
event stream (`event_stream`: Redis, written by workers) and its fan-out to SSE subscribers
(`event_hub`); library operations (`library`: create and delete videos and exchanges), the files'
`layout` on disk, the JSON shapes (`presenters`); `auth`, chunked `uploads`, and the child processes of
the one-command `stack`.
"""
