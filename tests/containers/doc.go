// Package containers tests paddock as it ships in containers: the scratch image built by
// deploy/image/build.sh, the Compose files of deploy/compose (and the official zookeeper
// image's compose.yaml with only the image changed), the Swarm stack of deploy/swarm, and
// the Kubernetes manifests of deploy/k8s, which are decoded strictly against the k8s.io/api
// types (no cluster is needed for those).
//
// The Docker tests need a Docker engine and the docker CLI (with `docker compose` or
// docker-compose); without a reachable engine they skip, saying so. They build the image
// once per test process under a unique tag, give every Compose project and Swarm stack a
// unique name, publish only ephemeral host ports, and remove what they created (containers,
// networks, volumes, the image; the swarm itself if the test initialised it) in t.Cleanup.
//
// Clients reach members through their published ports, which change when a container
// restarts: the go-zookeeper client gets a host provider and a dialer that look the
// current port up, so a restart costs it a reconnect, as a real client's would.
package containers
