"""The serving check (InfraValidator's job, without Docker or Kubernetes): the candidate model must load in the model
server and answer its warm-up requests over REST and gRPC before the Pusher may push it."""
