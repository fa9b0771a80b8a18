"""The Open Inference Protocol's gRPC messages, in a descriptor pool of their own."""
