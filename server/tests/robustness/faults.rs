//! Faults: upstreams that die mid-call, never answer or flood; the proxy SIGKILLed.
