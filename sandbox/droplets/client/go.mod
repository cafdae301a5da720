module trigger-ops/sandbox/droplet-client

go 1.21
