"""The use cases: what a person or a worker can do to videos, Q&As, clips, speakers and people, each in one
transaction whose events are published after the commit. Also the step rules and step service (`steps`),
the JSON shapes (`presenters`), credentials (`auth`), chunked `uploads` and `previews`."""
