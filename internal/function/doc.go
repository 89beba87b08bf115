// Package function is the domain of Sluice's Lambda-compatible functions:
// function records (configuration, code package, resource policy, tags,
// reserved concurrency) in the key-value store, and the instances that run
// them: one process per instance, each with its own Lambda Runtime API
// endpoint (served by internal/runtimeapi behind the RuntimeEndpoint
// interface), working directory, environment and credentials.
package function
