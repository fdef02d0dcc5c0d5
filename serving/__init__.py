"""A local model server speaking TF Serving's REST and gRPC APIs over the Pusher's `<base>/<version>/` directory.

It lets clients written for TF Serving run against a pushed model without the tensorflow_model_server binary.
"""
